//! simplejwt's `token_blacklist_outstandingtoken`: every refresh token issued.

use sea_orm::entity::prelude::*;

/// One issued refresh token; shared with a Django deployment of the token_blacklist app.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_blacklist_outstandingtoken")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub token: String,
    pub created_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub user_id: Option<i64>,
    #[sea_orm(unique)]
    pub jti: String,
}

impl ActiveModelBehavior for ActiveModel {}
