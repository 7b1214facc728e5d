//! REST v1 `/api/v1/users/…`: parse the body, call one service function, render the legacy shape.
//!
//! Each handler's `#[utoipa::path]` is its entry in the OpenAPI document (`http::openapi`).

use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode},
};
use chrono::NaiveDate;
use entity::user::Model as User;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    Route,
    extract::{AuthUser, ClientInfo, JsonForm},
    schemas::{
        BadRequest, ChangePasswordRequest, Forbidden, Gender, InvalidCredentials, Language, LoginNext, LoginRequest,
        OtpLoginRequest, OtpType, PayloadTooLarge, PhoneNumberRequest, RefreshRequest, RegisterRequest,
        ResetPasswordRequest, SendOtpRequest, ServiceUnavailable, SetPasswordRequest, TooManyRequests, Unauthorized,
        UnsupportedMediaType, UpdateProfileRequest, VerifyOtpRequest, VerifyTokenRequest,
    },
};
use crate::{
    error::AppResult,
    service::{
        auth::{self, ChangePasswordInput, LoginInput, OtpLoginInput, ResetPasswordInput, SetPasswordInput},
        otp::{self, SendOtpInput, VerifyOtpInput},
        profile::{self, UpdateProfileInput},
        session,
        token::TokenPair,
        user::{self, RegisterInput, SignedIn},
    },
    state::AppState,
};

/// Every users route by its canonical path; `http::router` also serves each without the slash.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/api/v1/users/send-otp/", send_otp),
        Route::new(Method::POST, "/api/v1/users/verify-otp/", verify_otp),
        Route::new(Method::POST, "/api/v1/users/register/", register),
        Route::new(Method::POST, "/api/v1/users/login/", login),
        Route::new(Method::POST, "/api/v1/users/login/password/", login),
        Route::new(Method::POST, "/api/v1/users/check-user/", check_user),
        Route::new(Method::POST, "/api/v1/users/login/check/", login_check),
        Route::new(Method::POST, "/api/v1/users/login/otp/", login_otp),
        Route::new(Method::POST, "/api/v1/users/login/set-password/", set_password),
        Route::new(Method::POST, "/api/v1/users/forgot-password/reset/", reset_password),
        Route::new(Method::POST, "/api/v1/users/forgot-password/", reset_password),
        Route::new(Method::POST, "/api/v1/users/token/refresh/", refresh_token),
        Route::new(Method::POST, "/api/v1/users/token/verify/", verify_token),
        Route::new(Method::POST, "/api/v1/users/logout/", logout),
        Route::new(Method::GET, "/api/v1/users/me/", me),
        Route::new(Method::PATCH, "/api/v1/users/me/", update_me),
        Route::new(Method::POST, "/api/v1/users/change-password/", change_password),
    ]
}

#[derive(Serialize, ToSchema)]
struct SendOtpResponse {
    #[serde(rename = "type")]
    #[schema(value_type = OtpType)]
    otp_type: &'static str,
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
/// `forgot_password` code (403).
#[utoipa::path(
    post,
    path = "/api/v1/users/send-otp/",
    tag = "otp",
    request_body = SendOtpRequest,
    responses(
        (status = 201, description = "Code sent.", body = SendOtpResponse),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn send_otp(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    mut form: JsonForm,
) -> AppResult<(StatusCode, Json<SendOtpResponse>)> {
    let input = SendOtpInput {
        otp_type: form.string("type"),
        phone_number: form.string("phone_number"),
        captcha_token: form.string("recaptcha_token"),
    };
    form.finish()?;
    let sent = otp::send_otp(&state, &client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(SendOtpResponse {
            otp_type: sent.otp_type.as_str(),
            phone_number: sent.phone_number.to_string(),
            session: sent.session,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct VerifyOtpResponse {
    #[serde(rename = "type")]
    #[schema(value_type = OtpType)]
    otp_type: &'static str,
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
    request_body = VerifyOtpRequest,
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
    mut form: JsonForm,
) -> AppResult<(StatusCode, Json<VerifyOtpResponse>)> {
    let input = VerifyOtpInput {
        otp_type: form.string("type"),
        phone_number: form.string("phone_number"),
        session: form.string("session"),
        otp_code: form.string("otp_code"),
    };
    form.finish()?;
    let verified = otp::verify_otp(&state, &client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(VerifyOtpResponse {
            otp_type: verified.otp_type.as_str(),
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
    request_body = RegisterRequest,
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
    mut form: JsonForm,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let input = RegisterInput {
        phone_number: form.string("phone_number"),
        password: form.string("password"),
        password2: form.string("password2"),
        full_name: form.string("full_name"),
        date_of_birth: form.string("date_of_birth"),
        gender: form.string("gender"),
        language: form.string("language"),
        session: form.string("session"),
    };
    form.finish()?;
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
struct LoginResponse {
    success: bool,
    #[schema(example = "Login successful")]
    message: &'static str,
    user: LoginUser,
    tokens: Tokens,
}

impl From<SignedIn> for LoginResponse {
    fn from(SignedIn { user, tokens }: SignedIn) -> Self {
        Self {
            success: true,
            message: "Login successful",
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
    request_body = LoginRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<LoginResponse>> {
    let input = LoginInput { phone_number: form.string("phone_number"), password: form.string("password") };
    form.finish()?;
    Ok(Json(auth::login_with_password(&state, &client, input).await?.into()))
}

/// Signs in with a verified `login` session instead of a password.
#[utoipa::path(
    post,
    path = "/api/v1/users/login/otp/",
    tag = "sign-in",
    request_body = OtpLoginRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<LoginResponse>> {
    let input = OtpLoginInput { phone_number: form.string("phone_number"), session: form.string("session") };
    form.finish()?;
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
    request_body = PhoneNumberRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<CheckUserResponse>> {
    let phone_number = form.string("phone_number");
    form.finish()?;
    let lookup = user::look_up_user(&state, &client, phone_number).await?;
    Ok(Json(CheckUserResponse { success: true, exists: lookup.exists, phone_number: lookup.phone_number.to_string() }))
}

#[derive(Serialize, ToSchema)]
struct LoginCheckResponse {
    success: bool,
    exists: bool,
    has_password: bool,
    #[schema(example = "+998901234567")]
    phone_number: String,
    #[schema(value_type = LoginNext)]
    next: &'static str,
}

/// Tells which login screen comes next for a phone number.
#[utoipa::path(
    post,
    path = "/api/v1/users/login/check/",
    tag = "sign-in",
    request_body = PhoneNumberRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<LoginCheckResponse>> {
    let phone_number = form.string("phone_number");
    form.finish()?;
    let lookup = user::look_up_user(&state, &client, phone_number).await?;
    Ok(Json(LoginCheckResponse {
        success: true,
        exists: lookup.exists,
        has_password: lookup.has_password,
        next: lookup.next().as_str(),
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
    request_body = SetPasswordRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<PasswordChangedResponse>> {
    let input = SetPasswordInput {
        password: form.string("password"),
        password2: form.string("password2"),
        old_password: form.string("old_password"),
    };
    form.finish()?;
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
    request_body = ResetPasswordRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<PasswordChangedResponse>> {
    let input = ResetPasswordInput {
        phone_number: form.string("phone_number"),
        password: form.string("password"),
        password2: form.string("password2"),
        session: form.string("session"),
    };
    form.finish()?;
    let user = auth::reset_password(&state, &client, input).await?;
    Ok(Json(PasswordChangedResponse { success: true, message: "Password reset successfully", user: user.into() }))
}

/// Rotates a refresh token into a new pair; the old one is blacklisted.
#[utoipa::path(
    post,
    path = "/api/v1/users/token/refresh/",
    tag = "tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair.", body = Tokens),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn refresh_token(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Tokens>> {
    let refresh = form.string("refresh");
    form.finish()?;
    Ok(Json(session::refresh_tokens(&state, refresh).await?.into()))
}

/// simplejwt answers the verify and blacklist views with an empty object.
#[derive(Serialize, ToSchema)]
struct Empty {}

/// Checks an access or refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/users/token/verify/",
    tag = "tokens",
    request_body = VerifyTokenRequest,
    responses(
        (status = 200, description = "The token is valid.", body = Empty),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn verify_token(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Empty>> {
    let token = form.string("token");
    form.finish()?;
    session::verify_token(&state, token).await?;
    Ok(Json(Empty {}))
}

/// Blacklists a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/users/logout/",
    tag = "tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Signed out.", body = Empty),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
)]
async fn logout(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Empty>> {
    let refresh = form.string("refresh");
    form.finish()?;
    session::logout(&state, refresh).await?;
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
    request_body = UpdateProfileRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<Profile>> {
    let input = UpdateProfileInput {
        full_name: form.string("full_name"),
        username: form.patch_string("username"),
        date_of_birth: form.patch_string("date_of_birth"),
        gender: form.patch_string("gender"),
        language: form.string("language"),
        is_notification_enabled: form.boolean("is_notification_enabled"),
    };
    form.finish()?;
    Ok(Json(profile::update_profile(&state, caller, input).await?.into()))
}

#[derive(Serialize, ToSchema)]
struct SuccessMessage {
    success: bool,
    #[schema(example = "Password changed successfully")]
    message: &'static str,
}

/// Changes the caller's password; every session of the account ends.
#[utoipa::path(
    post,
    path = "/api/v1/users/change-password/",
    tag = "profile",
    request_body = ChangePasswordRequest,
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
    mut form: JsonForm,
) -> AppResult<Json<SuccessMessage>> {
    let input = ChangePasswordInput {
        old_password: form.string("old_password"),
        password: form.string("password"),
        password2: form.string("password2"),
    };
    form.finish()?;
    auth::change_password(&state, &client, caller, input).await?;
    Ok(Json(SuccessMessage { success: true, message: "Password changed successfully" }))
}
