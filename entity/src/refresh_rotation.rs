//! Which refresh token replaced which: lets a retried refresh get the current pair back.

use sea_orm::entity::prelude::*;

/// `parent_jti` was rotated into `child_jti` at `rotated_at`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_rotation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub parent_jti: String,
    pub child_jti: String,
    pub rotated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
