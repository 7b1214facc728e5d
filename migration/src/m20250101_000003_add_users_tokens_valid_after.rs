//! Adds `users.tokens_valid_after`, nullable so the Django model keeps working unchanged.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("users", "tokens_valid_after").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::TokensValidAfter))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::TokensValidAfter).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    TokensValidAfter,
}
