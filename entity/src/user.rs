//! The `users` table, column for column as the Django "Tantana Backend" created it.

use sea_orm::entity::prelude::*;

/// One account. `phone_number` is stored in E.164; `password` is in Django's hash format.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub password: String,
    pub last_login: Option<DateTimeUtc>,
    pub is_superuser: bool,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(unique)]
    pub username: Option<String>,
    #[sea_orm(unique)]
    pub phone_number: String,
    pub full_name: String,
    pub date_of_birth: Option<Date>,
    pub language: String,
    pub gender: Option<String>,
    pub photo: Option<String>,
    pub is_notification_enabled: bool,
    /// Ours, not Django's (nullable, so Django ignores it): access tokens issued before this
    /// instant are refused. Set by password changes and resets.
    pub tokens_valid_after: Option<DateTimeUtc>,
    /// Ours too: when the owner deleted the account. The row stays (other tables point at it)
    /// with its personal data erased and its phone number replaced by a tombstone.
    pub deleted_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Django's `has_usable_password()`: an empty or `!`-prefixed hash never verifies.
    pub fn has_usable_password(&self) -> bool {
        is_usable_password(&self.password)
    }
}

/// Django's `is_password_usable(encoded)`, for a `password` column read on its own.
pub fn is_usable_password(encoded: &str) -> bool {
    !encoded.is_empty() && !encoded.starts_with('!')
}
