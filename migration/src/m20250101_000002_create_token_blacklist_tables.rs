//! simplejwt's token_blacklist tables (same names and columns, so a Django process can share
//! them) and our rotation links.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutstandingToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OutstandingToken::Id))
                    .col(text(OutstandingToken::Token))
                    .col(timestamp_with_time_zone_null(OutstandingToken::CreatedAt))
                    .col(timestamp_with_time_zone(OutstandingToken::ExpiresAt))
                    .col(big_integer_null(OutstandingToken::UserId))
                    .col(string_len(OutstandingToken::Jti, 255).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from(OutstandingToken::Table, OutstandingToken::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("token_blacklist_outstandingtoken_user_id_idx")
                    .table(OutstandingToken::Table)
                    .col(OutstandingToken::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BlacklistedToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(BlacklistedToken::Id))
                    .col(timestamp_with_time_zone(BlacklistedToken::BlacklistedAt))
                    .col(big_integer(BlacklistedToken::TokenId).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from(BlacklistedToken::Table, BlacklistedToken::TokenId)
                            .to(OutstandingToken::Table, OutstandingToken::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshRotation::Table)
                    .if_not_exists()
                    .col(string_len(RefreshRotation::ParentJti, 255).primary_key())
                    .col(string_len(RefreshRotation::ChildJti, 255))
                    .col(timestamp_with_time_zone(RefreshRotation::RotatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RefreshRotation::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(BlacklistedToken::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OutstandingToken::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OutstandingToken {
    #[sea_orm(iden = "token_blacklist_outstandingtoken")]
    Table,
    Id,
    Token,
    CreatedAt,
    ExpiresAt,
    UserId,
    Jti,
}

#[derive(DeriveIden)]
enum BlacklistedToken {
    #[sea_orm(iden = "token_blacklist_blacklistedtoken")]
    Table,
    Id,
    BlacklistedAt,
    TokenId,
}

#[derive(DeriveIden)]
enum RefreshRotation {
    Table,
    ParentJti,
    ChildJti,
    RotatedAt,
}
