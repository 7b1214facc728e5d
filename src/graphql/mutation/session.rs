//! Signing in and out: `login`, `loginWithOtp`, `refreshToken`, `logout`, `revokeSession`, `logoutAll`.

use async_graphql::{Context, ErrorExtensions, ID, Object};

use super::PASSWORD_HASHING_COST;
use crate::{
    graphql::{
        context::{caller, client, state},
        inputs::{LoginInput, LoginWithOtpInput},
        types::{AuthPayload, TokenPair},
    },
    request::Field,
    service::{
        auth,
        devices::{self, LogoutAllInput},
        session::{self, RefreshInput},
    },
};

/// The sign-in and token mutations, merged into `Mutation`.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in with phone number and password.
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> async_graphql::Result<AuthPayload> {
        auth::login_with_password(state(ctx)?, &client(ctx), input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Signs in behind a session verified for `LOGIN`; the session is used up.
    async fn login_with_otp(&self, ctx: &Context<'_>, input: LoginWithOtpInput) -> async_graphql::Result<AuthPayload> {
        auth::login_with_otp(state(ctx)?, &client(ctx), input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Trades a refresh token for a new pair; the old refresh token stops working.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh: String) -> async_graphql::Result<TokenPair> {
        session::refresh_tokens(state(ctx)?, RefreshInput { refresh: Field::Value(refresh) })
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Ends the session of a refresh token.
    async fn logout(&self, ctx: &Context<'_>, refresh: String) -> async_graphql::Result<bool> {
        session::logout(state(ctx)?, RefreshInput { refresh: Field::Value(refresh) })
            .await
            .map(|()| true)
            .map_err(|error| error.extend())
    }

    /// Ends one of the caller's sign-in sessions (`sessions` lists them): its refresh token at
    /// once, its access tokens within seconds. Another user's id is `NOT_FOUND`.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let caller = caller(ctx).await?;
        devices::revoke_session(state(ctx)?, &caller, &id).await.map(|()| true).map_err(|error| error.extend())
    }

    /// Ends every session of the caller, or with `keepCurrent` every other one; answers how many
    /// ended.
    async fn logout_all(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] keep_current: bool,
    ) -> async_graphql::Result<usize> {
        let caller = caller(ctx).await?;
        let input = LogoutAllInput { keep_current: Field::Value(keep_current) };
        devices::log_out_everywhere(state(ctx)?, &caller, input).await.map_err(|error| error.extend())
    }
}
