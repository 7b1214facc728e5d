//! The `Query` root: the caller's profile and the phone-number lookups of the sign-in screens.

use async_graphql::{Context, ErrorExtensions, Object};

use super::{
    context::{caller, client, state},
    types::{CheckUserPayload, LoginCheckPayload, Session, User},
};
use crate::{
    request::Field,
    service::{
        devices,
        user::{self, LookUpInput},
    },
};

/// Read-only operations.
#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user (`Authorization: Bearer <access>`).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        Ok(caller(ctx).await?.user.into())
    }

    /// The caller's live sign-in sessions, newest first; `current` marks the caller's own.
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let caller = caller(ctx).await?;
        devices::list_sessions(state(ctx)?, &caller)
            .await
            .map(|sessions| sessions.into_iter().map(Into::into).collect())
            .map_err(|error| error.extend())
    }

    /// Whether an account exists for the phone number.
    async fn check_user(&self, ctx: &Context<'_>, phone_number: String) -> async_graphql::Result<CheckUserPayload> {
        user::look_up_user(state(ctx)?, &client(ctx), LookUpInput { phone_number: Field::Value(phone_number) })
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Whether an account exists and has a password, and which screen comes next.
    async fn login_check(&self, ctx: &Context<'_>, phone_number: String) -> async_graphql::Result<LoginCheckPayload> {
        user::look_up_user(state(ctx)?, &client(ctx), LookUpInput { phone_number: Field::Value(phone_number) })
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }
}
