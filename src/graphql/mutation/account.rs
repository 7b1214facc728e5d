//! The account itself: `register`, `resetPassword`, `setPassword`, `changePassword`, `updateProfile`,
//! `changePhoneNumber`, `deleteAccount`.

use async_graphql::{Context, ErrorExtensions, Object};

use super::PASSWORD_HASHING_COST;
use crate::{
    graphql::{
        context::{caller, client, state},
        inputs::{
            ChangePasswordInput, ChangePhoneNumberInput, DeleteAccountInput, RegisterInput, ResetPasswordInput,
            SetPasswordInput, UpdateProfileInput,
        },
        types::{AuthPayload, User},
    },
    service::{auth, lifecycle, profile, user},
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

    /// Moves the caller's account to the number a `CHANGE_PHONE` code was verified for. Every
    /// other session ends; the answer carries a fresh pair for this one.
    async fn change_phone_number(
        &self,
        ctx: &Context<'_>,
        input: ChangePhoneNumberInput,
    ) -> async_graphql::Result<AuthPayload> {
        let caller = caller(ctx).await?;
        lifecycle::change_phone_number(state(ctx)?, &client(ctx), caller, input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Deletes the caller's account, confirmed by its password or a `DELETE_ACCOUNT` code:
    /// personal data is erased, the number is free, every token and session is refused.
    #[graphql(complexity = "PASSWORD_HASHING_COST + child_complexity")]
    async fn delete_account(&self, ctx: &Context<'_>, input: DeleteAccountInput) -> async_graphql::Result<bool> {
        let caller = caller(ctx).await?;
        lifecycle::delete_account(state(ctx)?, &client(ctx), caller, input.into())
            .await
            .map(|()| true)
            .map_err(|error| error.extend())
    }
}
