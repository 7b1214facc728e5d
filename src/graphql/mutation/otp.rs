//! `sendOtp` and `verifyOtp`.

use async_graphql::{Context, ErrorExtensions, Object};

use crate::{
    graphql::{
        context::{client, credentials, state},
        inputs::{SendOtpInput, VerifyOtpInput},
        types::{SendOtpPayload, VerifyOtpPayload},
    },
    service::otp,
};

/// The one-time-code mutations, merged into `Mutation`.
#[derive(Default)]
pub struct OtpMutation;

#[Object]
impl OtpMutation {
    /// Sends a six-digit code by SMS. Limited per phone number: one per type every two minutes
    /// and five an hour (`RATE_LIMITED` with `retryAfter` seconds). `CHANGE_PHONE` (to the new
    /// number) and `DELETE_ACCOUNT` (to the account's own) need a bearer token.
    async fn send_otp(&self, ctx: &Context<'_>, input: SendOtpInput) -> async_graphql::Result<SendOtpPayload> {
        otp::send_otp(state(ctx)?, &client(ctx), credentials(ctx), input.into())
            .await
            .map(Into::into)
            .map_err(|error| error.extend())
    }

    /// Checks a code. Five wrong codes end the session (`OTP_ATTEMPTS_EXCEEDED`).
    async fn verify_otp(&self, ctx: &Context<'_>, input: VerifyOtpInput) -> async_graphql::Result<VerifyOtpPayload> {
        otp::verify_otp(state(ctx)?, &client(ctx), input.into()).await.map(Into::into).map_err(|error| error.extend())
    }
}
