//! The account itself: `register`, `resetPassword`, `setPassword`, `changePassword`, `updateProfile`.

use async_graphql::{Context, ErrorExtensions, Object};

use super::PASSWORD_HASHING_COST;
use crate::{
    graphql::{
        context::{caller, client, state},
        inputs::{ChangePasswordInput, RegisterInput, ResetPasswordInput, SetPasswordInput, UpdateProfileInput},
        types::{AuthPayload, User},
    },
    service::{auth, profile, user},
};

/// The account mutations, merged into `Mutation`.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account behind a session verified for `AUTH` and signs it in.
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> async_graphql::Result<AuthPayload> {
        user::register_user(state(ctx)?, &client(ctx), input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Sets a new password behind a session verified for `FORGOT_PASSWORD`.
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn reset_password(&self, ctx: &Context<'_>, input: ResetPasswordInput) -> async_graphql::Result<User> {
        auth::reset_password(state(ctx)?, &client(ctx), input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Sets the caller's password (first password, or a new one).
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn set_password(&self, ctx: &Context<'_>, input: SetPasswordInput) -> async_graphql::Result<User> {
        let caller = caller(ctx).await?;
        auth::set_password(state(ctx)?, &client(ctx), caller, input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Replaces the caller's password; every token issued before it stops working.
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> async_graphql::Result<bool> {
        let caller = caller(ctx).await?;
        auth::change_password(state(ctx)?, &client(ctx), caller, input.into())
            .await
            .map(|()| true)
            .map_err(|error| error.extend())
    }

    /// Changes the caller's profile.
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> async_graphql::Result<User> {
        let caller = caller(ctx).await?;
        profile::update_profile(state(ctx)?, caller, input.into()).await.map(Into::into).map_err(|error| error.extend())
    }
}
