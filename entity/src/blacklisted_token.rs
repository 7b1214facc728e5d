//! simplejwt's `token_blacklist_blacklistedtoken`: refresh tokens that no longer work.

use sea_orm::entity::prelude::*;

/// A revoked refresh token (logout, rotation, or reuse detection).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_blacklist_blacklistedtoken")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub blacklisted_at: DateTimeUtc,
    #[sea_orm(unique)]
    pub token_id: i64,
}

impl ActiveModelBehavior for ActiveModel {}
