//! REST v1 for the account's lifecycle and its sign-in sessions: delete the account, change its
//! phone number, list the sessions, end one, end all.

use axum::{
    Json,
    extract::{Path, State},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::UtoipaMethodRouter, routes};

use super::{
    extract::{AuthUser, ClientInfo, JsonBody},
    openapi::{
        BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
    },
    user::{LoginResponse, SuccessMessage},
};
use crate::{
    domain::LoginMethod,
    error::AppResult,
    service::{
        AppState,
        device_session::DeviceSession,
        devices::{self, LogoutAllInput},
        lifecycle::{self, ChangePhoneInput, DeleteAccountInput},
    },
};

/// The lifecycle and session routes, each with its operation.
pub(super) fn routes() -> Vec<UtoipaMethodRouter<AppState>> {
    vec![
        routes!(delete_me),
        routes!(delete_me_by_post),
        routes!(change_phone),
        routes!(sessions),
        routes!(revoke_session),
        routes!(logout_all),
    ]
}

const ACCOUNT_DELETED: SuccessMessage = SuccessMessage { success: true, message: "Account deleted successfully" };

/// Deletes the caller's account, confirmed by its password or a verified `delete_account` code.
///
/// Personal data is erased at once, the phone number is free to register again, and every token
/// and session of the account is refused from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/users/me/",
    tag = "profile",
    request_body = DeleteAccountInput,
    responses(
        (status = 200, description = "Deleted.", body = SuccessMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn delete_me(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<DeleteAccountInput>,
) -> AppResult<Json<SuccessMessage>> {
    lifecycle::delete_account(&state, &client, caller, input).await?;
    Ok(Json(ACCOUNT_DELETED))
}

/// `DELETE me/` for clients that cannot send a body with DELETE.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/delete/",
    tag = "profile",
    request_body = DeleteAccountInput,
    responses(
        (status = 200, description = "Deleted.", body = SuccessMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn delete_me_by_post(
    state: State<AppState>,
    client: ClientInfo,
    caller: AuthUser,
    body: JsonBody<DeleteAccountInput>,
) -> AppResult<Json<SuccessMessage>> {
    delete_me(state, client, caller, body).await
}

/// Moves the caller's account to the number a verified `change_phone` code went to.
///
/// Every other session ends; the answer carries a fresh pair for this one. The old number is
/// then free.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/change-phone/",
    tag = "profile",
    request_body = ChangePhoneInput,
    responses(
        (status = 200, description = "Changed; a fresh token pair.", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn change_phone(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<ChangePhoneInput>,
) -> AppResult<Json<LoginResponse>> {
    let signed_in = lifecycle::change_phone_number(&state, &client, caller, input).await?;
    Ok(Json(LoginResponse::with_message("Phone number changed successfully", signed_in)))
}

/// One sign-in, as its owner sees it.
#[derive(Serialize, ToSchema)]
struct SessionView {
    #[schema(example = "3f0c6a1e9b2d4c7e8a5f1b2c3d4e5f60")]
    id: String,
    /// The `X-Device-Name` the app sent at sign-in.
    #[schema(example = "Ali's iPhone")]
    device_name: Option<String>,
    user_agent: Option<String>,
    /// The network the sign-in came from: the address cut to its /24 (IPv4) or /48 (IPv6).
    #[schema(example = "203.0.113.0/24")]
    ip_network: Option<String>,
    login_method: LoginMethod,
    created_at: DateTime<Utc>,
    /// The last token refresh.
    last_used_at: DateTime<Utc>,
    /// The session of the token that asked.
    current: bool,
}

impl From<DeviceSession> for SessionView {
    fn from(session: DeviceSession) -> Self {
        Self {
            id: session.id,
            device_name: session.device_name,
            user_agent: session.user_agent,
            ip_network: session.ip_network,
            login_method: session.login_method,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            current: session.current,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct SessionsResponse {
    success: bool,
    /// Newest first.
    sessions: Vec<SessionView>,
}

/// The caller's live sign-in sessions.
#[utoipa::path(
    get,
    path = "/api/v1/users/sessions/",
    tag = "sessions",
    responses(
        (status = 200, description = "Newest first; `current` marks the caller's.", body = SessionsResponse),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn sessions(State(state): State<AppState>, AuthUser(caller): AuthUser) -> AppResult<Json<SessionsResponse>> {
    let sessions = devices::list_sessions(&state, &caller).await?;
    Ok(Json(SessionsResponse { success: true, sessions: sessions.into_iter().map(Into::into).collect() }))
}

/// Ends one of the caller's sessions: its refresh token at once, its access tokens within
/// seconds on every instance.
#[utoipa::path(
    delete,
    path = "/api/v1/users/sessions/{id}/",
    tag = "sessions",
    params(("id" = String, Path, description = "A session id from `sessions/`.")),
    responses(
        (status = 200, description = "Ended.", body = SuccessMessage),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn revoke_session(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<SuccessMessage>> {
    devices::revoke_session(&state, &caller, &id).await?;
    Ok(Json(SuccessMessage { success: true, message: "Session ended" }))
}

#[derive(Serialize, ToSchema)]
struct LogoutAllResponse {
    success: bool,
    #[schema(example = "Logged out of all sessions")]
    message: &'static str,
    /// How many sessions ended.
    ended: usize,
}

/// Ends every session of the caller, or with `keep_current` every other one.
#[utoipa::path(
    post,
    path = "/api/v1/users/logout-all/",
    tag = "sessions",
    request_body = LogoutAllInput,
    responses(
        (status = 200, description = "Ended.", body = LogoutAllResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
async fn logout_all(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(input): JsonBody<LogoutAllInput>,
) -> AppResult<Json<LogoutAllResponse>> {
    let ended = devices::log_out_everywhere(&state, &caller, input).await?;
    Ok(Json(LogoutAllResponse { success: true, message: "Logged out of all sessions", ended }))
}
