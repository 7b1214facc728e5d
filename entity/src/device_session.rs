//! `auth_sessions`: one row per sign-in, covering the refresh chain that follows it.

use sea_orm::entity::prelude::*;

/// A sign-in on one device. Live while `ended_at` is empty and `expires_at` (its current refresh
/// token's expiry) is ahead.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    /// The `sid` claim of the session's tokens: a UUID as 32 hex digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: i64,
    pub created_at: DateTimeUtc,
    /// The last refresh (not every request).
    pub last_used_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    /// `jti` of the refresh token the chain is at: blacklisted when the session is ended.
    pub refresh_jti: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub device_name: Option<String>,
    /// `password` or `otp`.
    pub login_method: String,
}

impl ActiveModelBehavior for ActiveModel {}
