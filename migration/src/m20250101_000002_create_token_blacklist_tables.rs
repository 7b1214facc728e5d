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
                    .table(Outstanding::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Outstanding::Id))
                    .col(text(Outstanding::Token))
                    .col(timestamp_with_time_zone_null(Outstanding::CreatedAt))
                    .col(timestamp_with_time_zone(Outstanding::ExpiresAt))
                    .col(big_integer_null(Outstanding::UserId))
                    .col(string_len(Outstanding::Jti, 255).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outstanding::Table, Outstanding::UserId)
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
                    .table(Outstanding::Table)
                    .col(Outstanding::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Blacklisted::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Blacklisted::Id))
                    .col(timestamp_with_time_zone(Blacklisted::BlacklistedAt))
                    .col(big_integer(Blacklisted::TokenId).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Blacklisted::Table, Blacklisted::TokenId)
                            .to(Outstanding::Table, Outstanding::Id)
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
        manager.drop_table(Table::drop().table(Blacklisted::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Outstanding::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Outstanding {
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
enum Blacklisted {
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
