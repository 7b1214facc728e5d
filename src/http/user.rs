//! REST v1 `/api/v1/users/…`: parse the body, call one service function, render the legacy shape.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{MethodRouter, get, post},
};
use chrono::NaiveDate;
use entity::user::Model as User;
use serde::Serialize;

use super::extract::{AuthUser, ClientInfo, JsonForm};
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

/// Every users route, with and without the trailing slash.
pub fn router() -> Router<AppState> {
    [
        ("/send-otp", post(send_otp)),
        ("/verify-otp", post(verify_otp)),
        ("/register", post(register)),
        ("/login", post(login)),
        ("/login/password", post(login)),
        ("/check-user", post(check_user)),
        ("/login/check", post(login_check)),
        ("/login/otp", post(login_otp)),
        ("/login/set-password", post(set_password)),
        ("/forgot-password/reset", post(reset_password)),
        ("/forgot-password", post(reset_password)),
        ("/token/refresh", post(refresh_token)),
        ("/token/verify", post(verify_token)),
        ("/logout", post(logout)),
        ("/me", get(me).patch(update_me)),
        ("/change-password", post(change_password)),
    ]
    .into_iter()
    .fold(Router::new(), |router, (path, handler): (&str, MethodRouter<AppState>)| {
        router.route(&format!("{path}/"), handler.clone()).route(path, handler)
    })
}

#[derive(Serialize)]
struct SendOtpResponse {
    #[serde(rename = "type")]
    otp_type: &'static str,
    phone_number: String,
    session: String,
}

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

#[derive(Serialize)]
struct VerifyOtpResponse {
    #[serde(rename = "type")]
    otp_type: &'static str,
    phone_number: String,
    session: String,
    otp_code: String,
}

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

#[derive(Serialize)]
struct Tokens {
    access: String,
    refresh: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self { access: pair.access, refresh: pair.refresh }
    }
}

#[derive(Serialize)]
struct RegisteredUser {
    id: i64,
    phone_number: String,
    full_name: String,
    username: Option<String>,
    date_of_birth: Option<NaiveDate>,
    gender: Option<String>,
    language: String,
}

#[derive(Serialize)]
struct RegisterResponse {
    success: bool,
    message: &'static str,
    user: RegisteredUser,
    tokens: Tokens,
}

async fn register(
    State(state): State<AppState>,
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
    let SignedIn { user, tokens } = user::register_user(&state, input).await?;
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

#[derive(Serialize)]
struct LoginUser {
    id: i64,
    phone_number: String,
    full_name: String,
    username: Option<String>,
}

#[derive(Serialize)]
struct LoginResponse {
    success: bool,
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

async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    mut form: JsonForm,
) -> AppResult<Json<LoginResponse>> {
    let input = LoginInput { phone_number: form.string("phone_number"), password: form.string("password") };
    form.finish()?;
    Ok(Json(auth::login_with_password(&state, &client, input).await?.into()))
}

async fn login_otp(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    mut form: JsonForm,
) -> AppResult<Json<LoginResponse>> {
    let input = OtpLoginInput { phone_number: form.string("phone_number"), session: form.string("session") };
    form.finish()?;
    Ok(Json(auth::login_with_otp(&state, &client, input).await?.into()))
}

#[derive(Serialize)]
struct CheckUserResponse {
    success: bool,
    exists: bool,
    phone_number: String,
}

async fn check_user(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<CheckUserResponse>> {
    let phone_number = form.string("phone_number");
    form.finish()?;
    let lookup = user::look_up_user(&state, phone_number).await?;
    Ok(Json(CheckUserResponse { success: true, exists: lookup.exists, phone_number: lookup.phone_number.to_string() }))
}

#[derive(Serialize)]
struct LoginCheckResponse {
    success: bool,
    exists: bool,
    has_password: bool,
    phone_number: String,
    next: &'static str,
}

async fn login_check(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<LoginCheckResponse>> {
    let phone_number = form.string("phone_number");
    form.finish()?;
    let lookup = user::look_up_user(&state, phone_number).await?;
    Ok(Json(LoginCheckResponse {
        success: true,
        exists: lookup.exists,
        has_password: lookup.has_password,
        next: lookup.next().as_str(),
        phone_number: lookup.phone_number.to_string(),
    }))
}

#[derive(Serialize)]
struct ShortUser {
    id: i64,
    phone_number: String,
    full_name: String,
}

impl From<User> for ShortUser {
    fn from(user: User) -> Self {
        Self { id: user.id, phone_number: user.phone_number, full_name: user.full_name }
    }
}

#[derive(Serialize)]
struct PasswordChangedResponse {
    success: bool,
    message: &'static str,
    user: ShortUser,
}

async fn set_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    mut form: JsonForm,
) -> AppResult<Json<PasswordChangedResponse>> {
    let input = SetPasswordInput {
        password: form.string("password"),
        password2: form.string("password2"),
        old_password: form.string("old_password"),
    };
    form.finish()?;
    let user = auth::set_password(&state, caller, input).await?;
    Ok(Json(PasswordChangedResponse { success: true, message: "Password set successfully", user: user.into() }))
}

async fn reset_password(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<PasswordChangedResponse>> {
    let input = ResetPasswordInput {
        phone_number: form.string("phone_number"),
        password: form.string("password"),
        password2: form.string("password2"),
        session: form.string("session"),
    };
    form.finish()?;
    let user = auth::reset_password(&state, input).await?;
    Ok(Json(PasswordChangedResponse { success: true, message: "Password reset successfully", user: user.into() }))
}

async fn refresh_token(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Tokens>> {
    let refresh = form.string("refresh");
    form.finish()?;
    Ok(Json(session::refresh_tokens(&state, refresh).await?.into()))
}

/// simplejwt answers the verify and blacklist views with an empty object.
#[derive(Serialize)]
struct Empty {}

async fn verify_token(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Empty>> {
    let token = form.string("token");
    form.finish()?;
    session::verify_token(&state, token).await?;
    Ok(Json(Empty {}))
}

async fn logout(State(state): State<AppState>, mut form: JsonForm) -> AppResult<Json<Empty>> {
    let refresh = form.string("refresh");
    form.finish()?;
    session::logout(&state, refresh).await?;
    Ok(Json(Empty {}))
}

/// The full profile of `me/`.
#[derive(Serialize)]
struct Profile {
    id: i64,
    phone_number: String,
    full_name: String,
    username: Option<String>,
    date_of_birth: Option<NaiveDate>,
    gender: Option<String>,
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

async fn me(AuthUser(caller): AuthUser) -> Json<Profile> {
    Json(caller.user.into())
}

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

#[derive(Serialize)]
struct SuccessMessage {
    success: bool,
    message: &'static str,
}

async fn change_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    mut form: JsonForm,
) -> AppResult<Json<SuccessMessage>> {
    let input = ChangePasswordInput {
        old_password: form.string("old_password"),
        password: form.string("password"),
        password2: form.string("password2"),
    };
    form.finish()?;
    auth::change_password(&state, caller, input).await?;
    Ok(Json(SuccessMessage { success: true, message: "Password changed successfully" }))
}
