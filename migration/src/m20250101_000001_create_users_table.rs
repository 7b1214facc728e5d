//! Creates `users` exactly as the Django project does, unless a Django deployment already made it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `if_not_exists` lets the service adopt a database the Django backend already serves.
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Password, 128))
                    .col(timestamp_with_time_zone_null(Users::LastLogin))
                    .col(boolean(Users::IsSuperuser).default(false))
                    .col(string_len(Users::FirstName, 150).default(""))
                    .col(string_len(Users::LastName, 150).default(""))
                    .col(string_len(Users::Email, 254).default(""))
                    .col(boolean(Users::IsStaff).default(false))
                    .col(boolean(Users::IsActive).default(true))
                    .col(timestamp_with_time_zone(Users::DateJoined))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(string_len_null(Users::Username, 150).unique_key())
                    .col(string_len(Users::PhoneNumber, 128).unique_key())
                    .col(string_len(Users::FullName, 255))
                    .col(date_null(Users::DateOfBirth))
                    .col(string_len(Users::Language, 2).default("uz"))
                    .col(string_len_null(Users::Gender, 6))
                    .col(string_len_null(Users::Photo, 100))
                    .col(boolean(Users::IsNotificationEnabled).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Password,
    LastLogin,
    IsSuperuser,
    FirstName,
    LastName,
    Email,
    IsStaff,
    IsActive,
    DateJoined,
    CreatedAt,
    UpdatedAt,
    Username,
    PhoneNumber,
    FullName,
    DateOfBirth,
    Language,
    Gender,
    Photo,
    IsNotificationEnabled,
}
