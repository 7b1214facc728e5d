//! REST v1 `/api/v1/users/…`: parse the body, call one service function, render the legacy shape.
//!
//! Each handler's `#[utoipa::path]` is its entry in the OpenAPI document, and `routes()` serves
//! it from that entry's path and method.

use axum::{Json, extract::State, http::StatusCode};
use chrono::NaiveDate;
use entity::user::Model as User;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::UtoipaMethodRouter, routes};

use super::{
    extract::{AuthUser, Bearer, ClientInfo, JsonBody},
    openapi::{
        BadRequest, Forbidden, InvalidCredentials, PayloadTooLarge, ServiceUnavailable, TooManyRequests, Unauthorized,
        UnsupportedMediaType, aliased,
    },
};
use crate::{
    domain::{Gender, Language, LoginNext, OtpType},
    error::AppResult,
    service::{
        AppState,
        auth::{self, ChangePasswordInput, LoginInput, OtpLoginInput, ResetPasswordInput, SetPasswordInput},
        otp::{self, SendOtpInput, VerifyOtpInput},
        profile::{self, UpdateProfileInput},
        session::{self, RefreshInput, VerifyTokenInput},
        token::TokenPair,
        user::{self, LookUpInput, RegisterInput, SignedIn},
    },
};

/// Every users route, each with its operation; `http::router` also serves each without the slash.
pub(super) fn routes() -> Vec<UtoipaMethodRouter<AppState>> {
    vec![
        routes!(send_otp),
        routes!(verify_otp),
        routes!(register),
        routes!(login),
        aliased(routes!(login), "/api/v1/users/login/password/", "login_password"),
        routes!(check_user),
        routes!(login_check),
        routes!(login_otp),
        routes!(set_password),
        routes!(reset_password),
        aliased(routes!(reset_password), "/api/v1/users/forgot-password/", "forgot_password"),
        routes!(refresh_token),
        routes!(verify_token),
        routes!(logout),
        routes!(me, update_me),
        routes!(change_password),
    ]
}

#[derive(Serialize, ToSchema)]
struct SendOtpResponse {
    r#type: OtpType,
    /// E.164.
    #[schema(example = "+998901234567")]
    phone_number: String,
    /// Identifies the code in `verify-otp/`.
    #[schema(format = "uuid")]
    session: String,
}

/// Sends a 6-digit code by SMS.
///
/// Resending to the same phone and type waits out a cooldown (429 `otp_already_sent`), and a
/// phone gets a limited number of codes per hour. A disabled account gets no `login` or
/// `forgot_password` code (403). `change_phone` and `delete_account` codes need a Bearer token
/// (401 without a valid one).
#[utoipa::path(
    post,
    path = "/api/v1/users/send-otp/",
    tag = "otp",
    request_body = SendOtpInput,
    responses(
        (status = 201, description = "Code sent.", body = SendOtpResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security((), ("bearer" = [])),
)]
async fn send_otp(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Bearer(credentials): Bearer,
    JsonBody(input): JsonBody<SendOtpInput>,
) -> AppResult<(StatusCode, Json<SendOtpResponse>)> {
    let sent = otp::send_otp(&state, &client, credentials.as_ref(), input).await?;
    Ok((
        StatusCode::CREATED,
        Json(SendOtpResponse {
            r#type: sent.otp_type,
            phone_number: sent.phone_number.to_string(),
            session: sent.session,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct VerifyOtpResponse {
    r#type: OtpType,
    #[schema(example = "+998901234567")]
    phone_number: String,
    /// Now verified: one register, reset or OTP login may consume it.
    #[schema(format = "uuid")]
    session: String,
    #[schema(example = "482913")]
    otp_code: String,
}

/// Checks a code; the session becomes consumable once, for 10 minutes.
///
/// Five wrong codes end the session.
#[utoipa::path(
    post,
    path = "/api/v1/users/verify-otp/",
    tag = "otp",
    request_body = VerifyOtpInput,
    responses(
        (status = 201, description = "Code accepted.", body = VerifyOtpResponse),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn verify_otp(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<VerifyOtpInput>,
) -> AppResult<(StatusCode, Json<VerifyOtpResponse>)> {
    let verified = otp::verify_otp(&state, &client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(VerifyOtpResponse {
            r#type: verified.otp_type,
            phone_number: verified.phone_number.to_string(),
            session: verified.session,
            otp_code: verified.otp_code,
        }),
    ))
}

/// simplejwt's token pair.
#[derive(Serialize, ToSchema)]
struct Tokens {
    /// Access token (HS256 JWT), sent as `Authorization: Bearer …`.
    access: String,
    /// Refresh token; rotated by `token/refresh/`.
    refresh: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self { access: pair.access, refresh: pair.refresh }
    }
}

#[derive(Serialize, ToSchema)]
struct RegisteredUser {
    id: i64,
    #[schema(example = "+998901234567")]
    phone_number: String,
    full_name: String,
    username: Option<String>,
    date_of_birth: Option<NaiveDate>,
    #[schema(value_type = Option<Gender>)]
    gender: Option<String>,
    #[schema(value_type = Language)]
    language: String,
}

#[derive(Serialize, ToSchema)]
struct RegisterResponse {
    success: bool,
    #[schema(example = "User registered successfully")]
    message: &'static str,
    user: RegisteredUser,
    tokens: Tokens,
}

/// Creates the account behind a verified `auth` session and signs it in.
#[utoipa::path(
    post,
    path = "/api/v1/users/register/",
    tag = "accounts",
    request_body = RegisterInput,
    responses(
        (status = 201, description = "Registered.", body = RegisterResponse),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn register(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<RegisterInput>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let SignedIn { user, tokens } = user::register_user(&state, &client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            success: true,
            message: "User registered successfully",
            user: RegisteredUser {
                id: user.id,
                phone_number: user.phone_number,
                full_name: user.full_name,
                username: user.username,
                date_of_birth: user.date_of_birth,
                gender: user.gender,
                language: user.language,
            },
            tokens: tokens.into(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct LoginUser {
    id: i64,
    #[schema(example = "+998901234567")]
    phone_number: String,
    full_name: String,
    username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct LoginResponse {
    success: bool,
    #[schema(example = "Login successful")]
    message: &'static str,
    user: LoginUser,
    tokens: Tokens,
}

impl From<SignedIn> for LoginResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self::with_message("Login successful", signed_in)
    }
}

impl LoginResponse {
    /// The login body with another `message`, for the other answers that carry a fresh pair.
    pub(super) fn with_message(message: &'static str, SignedIn { user, tokens }: SignedIn) -> Self {
        Self {
            success: true,
            message,
            user: LoginUser {
                id: user.id,
                phone_number: user.phone_number,
                full_name: user.full_name,
                username: user.username,
            },
            tokens: tokens.into(),
        }
    }
}

/// Signs in with phone number and password.
///
/// Served at `login/password/` too. Repeated failures lock the account for a while (429).
#[utoipa::path(
    post,
    path = "/api/v1/users/login/",
    tag = "sign-in",
    request_body = LoginInput,
    responses(
        (status = 200, description = "Signed in.", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = InvalidCredentials),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<LoginInput>,
) -> AppResult<Json<LoginResponse>> {
    Ok(Json(auth::login_with_password(&state, &client, input).await?.into()))
}

/// Signs in with a verified `login` session instead of a password.
#[utoipa::path(
    post,
    path = "/api/v1/users/login/otp/",
    tag = "sign-in",
    request_body = OtpLoginInput,
    responses(
        (status = 200, description = "Signed in.", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn login_otp(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<OtpLoginInput>,
) -> AppResult<Json<LoginResponse>> {
    Ok(Json(auth::login_with_otp(&state, &client, input).await?.into()))
}

#[derive(Serialize, ToSchema)]
struct CheckUserResponse {
    success: bool,
    exists: bool,
    #[schema(example = "+998901234567")]
    phone_number: String,
}

/// Tells whether an account exists for a phone number.
#[utoipa::path(
    post,
    path = "/api/v1/users/check-user/",
    tag = "accounts",
    request_body = LookUpInput,
    responses(
        (status = 200, description = "The answer.", body = CheckUserResponse),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn check_user(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<LookUpInput>,
) -> AppResult<Json<CheckUserResponse>> {
    let lookup = user::look_up_user(&state, &client, input).await?;
    Ok(Json(CheckUserResponse { success: true, exists: lookup.exists, phone_number: lookup.phone_number.to_string() }))
}

#[derive(Serialize, ToSchema)]
struct LoginCheckResponse {
    success: bool,
    exists: bool,
    has_password: bool,
    #[schema(example = "+998901234567")]
    phone_number: String,
    next: LoginNext,
}

/// Tells which login screen comes next for a phone number.
#[utoipa::path(
    post,
    path = "/api/v1/users/login/check/",
    tag = "sign-in",
    request_body = LookUpInput,
    responses(
        (status = 200, description = "The answer.", body = LoginCheckResponse),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn login_check(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<LookUpInput>,
) -> AppResult<Json<LoginCheckResponse>> {
    let lookup = user::look_up_user(&state, &client, input).await?;
    Ok(Json(LoginCheckResponse {
        success: true,
        exists: lookup.exists,
        has_password: lookup.has_password,
        next: lookup.next(),
        phone_number: lookup.phone_number.to_string(),
    }))
}

#[derive(Serialize, ToSchema)]
struct ShortUser {
    id: i64,
    #[schema(example = "+998901234567")]
    phone_number: String,
    full_name: String,
}

impl From<User> for ShortUser {
    fn from(user: User) -> Self {
        Self { id: user.id, phone_number: user.phone_number, full_name: user.full_name }
    }
}

#[derive(Serialize, ToSchema)]
struct PasswordChangedResponse {
    success: bool,
    #[schema(example = "Password reset successfully")]
    message: &'static str,
    user: ShortUser,
}

/// Sets or replaces the caller's password.
///
/// The old password is needed when the account has one, unless the access token comes from an
/// OTP login less than 10 minutes old.
#[utoipa::path(
    post,
    path = "/api/v1/users/login/set-password/",
    tag = "profile",
    request_body = SetPasswordInput,
    responses(
        (status = 200, description = "Password set.", body = PasswordChangedResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn set_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<SetPasswordInput>,
) -> AppResult<Json<PasswordChangedResponse>> {
    let user = auth::set_password(&state, &client, caller, input).await?;
    Ok(Json(PasswordChangedResponse { success: true, message: "Password set successfully", user: user.into() }))
}

/// Sets a new password behind a verified `forgot_password` session.
///
/// Served at `forgot-password/` too. Every refresh token of the account is revoked.
#[utoipa::path(
    post,
    path = "/api/v1/users/forgot-password/reset/",
    tag = "accounts",
    request_body = ResetPasswordInput,
    responses(
        (status = 200, description = "Password reset.", body = PasswordChangedResponse),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn reset_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(input): JsonBody<ResetPasswordInput>,
) -> AppResult<Json<PasswordChangedResponse>> {
    let user = auth::reset_password(&state, &client, input).await?;
    Ok(Json(PasswordChangedResponse { success: true, message: "Password reset successfully", user: user.into() }))
}

/// Rotates a refresh token into a new pair; the old one is blacklisted.
#[utoipa::path(
    post,
    path = "/api/v1/users/token/refresh/",
    tag = "tokens",
    request_body = RefreshInput,
    responses(
        (status = 200, description = "A new pair.", body = Tokens),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn refresh_token(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RefreshInput>,
) -> AppResult<Json<Tokens>> {
    Ok(Json(session::refresh_tokens(&state, input).await?.into()))
}

/// simplejwt answers the verify and blacklist views with an empty object.
#[derive(Serialize, ToSchema)]
struct Empty {}

/// Checks an access or refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/users/token/verify/",
    tag = "tokens",
    request_body = VerifyTokenInput,
    responses(
        (status = 200, description = "The token is valid.", body = Empty),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn verify_token(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<VerifyTokenInput>,
) -> AppResult<Json<Empty>> {
    session::verify_token(&state, input).await?;
    Ok(Json(Empty {}))
}

/// Blacklists a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/users/logout/",
    tag = "tokens",
    request_body = RefreshInput,
    responses(
        (status = 200, description = "Signed out.", body = Empty),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn logout(State(state): State<AppState>, JsonBody(input): JsonBody<RefreshInput>) -> AppResult<Json<Empty>> {
    session::logout(&state, input).await?;
    Ok(Json(Empty {}))
}

/// The full profile of `me/`.
#[derive(Serialize, ToSchema)]
struct Profile {
    id: i64,
    #[schema(example = "+998901234567")]
    phone_number: String,
    full_name: String,
    username: Option<String>,
    date_of_birth: Option<NaiveDate>,
    #[schema(value_type = Option<Gender>)]
    gender: Option<String>,
    #[schema(value_type = Language)]
    language: String,
    photo: Option<String>,
    is_notification_enabled: bool,
    has_password: bool,
    date_joined: chrono::DateTime<chrono::Utc>,
    last_login: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<User> for Profile {
    fn from(user: User) -> Self {
        Self {
            has_password: user.has_usable_password(),
            id: user.id,
            phone_number: user.phone_number,
            full_name: user.full_name,
            username: user.username,
            date_of_birth: user.date_of_birth,
            gender: user.gender,
            language: user.language,
            photo: user.photo,
            is_notification_enabled: user.is_notification_enabled,
            date_joined: user.date_joined,
            last_login: user.last_login,
        }
    }
}

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/api/v1/users/me/",
    tag = "profile",
    responses(
        (status = 200, description = "The profile.", body = Profile),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn me(AuthUser(caller): AuthUser) -> Json<Profile> {
    Json(caller.user.into())
}

/// Changes the fields of the caller's profile that the body names.
#[utoipa::path(
    patch,
    path = "/api/v1/users/me/",
    tag = "profile",
    request_body = UpdateProfileInput,
    responses(
        (status = 200, description = "The updated profile.", body = Profile),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn update_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<UpdateProfileInput>,
) -> AppResult<Json<Profile>> {
    Ok(Json(profile::update_profile(&state, caller, input).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub(super) struct SuccessMessage {
    pub(super) success: bool,
    #[schema(example = "Password changed successfully")]
    pub(super) message: &'static str,
}

/// Changes the caller's password; every session of the account ends.
#[utoipa::path(
    post,
    path = "/api/v1/users/change-password/",
    tag = "profile",
    request_body = ChangePasswordInput,
    responses(
        (status = 200, description = "Password changed.", body = SuccessMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn change_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<ChangePasswordInput>,
) -> AppResult<Json<SuccessMessage>> {
    auth::change_password(&state, &client, caller, input).await?;
    Ok(Json(SuccessMessage { success: true, message: "Password changed successfully" }))
}
