//! The REST rendering of `AppError`: one envelope for every failure (contract §2).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, TokenKind};

/// One problem: a field's (`field` set) or the request's as a whole (`field` null, code
/// prefixed `non_field_errors_`).
#[derive(Serialize, ToSchema)]
pub struct ErrorEntry<'a> {
    /// `<field>_<code>`, as DRF names them.
    #[schema(example = "phone_number_invalid_phone_number")]
    code: String,
    #[schema(required = true, example = "phone_number")]
    field: Option<&'a str>,
    #[schema(example = "The phone number entered is not valid.")]
    message: &'a str,
}

/// The body of every non-2xx answer; all problems are listed.
#[derive(Serialize, ToSchema)]
pub struct Error<'a> {
    /// Always `false`.
    success: bool,
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    status_code: u16,
    errors: Vec<ErrorEntry<'a>>,
}

/// The envelope of a refused token or missing credentials, with simplejwt's keys, which mobile
/// clients test to decide whether to refresh.
#[derive(Serialize, ToSchema)]
pub struct AuthError<'a> {
    #[serde(flatten)]
    envelope: Error<'a>,
    #[schema(example = "Given token not valid for any token type")]
    detail: &'static str,
    /// `token_not_valid`, `not_authenticated`, `user_not_found` or `user_inactive`.
    #[schema(example = "token_not_valid")]
    code: &'static str,
    /// For an access token that is not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    messages: Option<Vec<TokenMessage>>,
}

/// simplejwt's message about one token.
#[derive(Serialize, ToSchema)]
pub struct TokenMessage {
    #[schema(example = "AccessToken")]
    token_class: &'static str,
    #[schema(example = "access")]
    token_type: &'static str,
    #[schema(example = "Token is expired")]
    message: &'static str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(error) = &self {
            // The client hears "internal error"; the cause goes to the log only.
            tracing::error!(error = format!("{error:#}"), "internal error");
        }
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let entries = self.entries();
        let errors: Vec<ErrorEntry<'_>> = entries
            .iter()
            .map(|entry| ErrorEntry {
                code: format!("{}_{}", entry.field.unwrap_or("non_field_errors"), entry.code),
                field: entry.field,
                message: &entry.message,
            })
            .collect();
        let envelope = Error { success: false, status_code: status.as_u16(), errors };
        let body = match &self {
            // simplejwt's keys, which mobile clients test to decide whether to refresh.
            AppError::InvalidToken { problem, kind } => {
                let authenticating = *kind == TokenKind::Access;
                // simplejwt's token views put the token's own message in `detail`; the
                // authentication class puts a generic one there and the specifics in `messages`.
                let messages = (authenticating && problem.code() == "token_not_valid").then(|| {
                    vec![TokenMessage { token_class: "AccessToken", token_type: "access", message: problem.message() }]
                });
                let detail = if authenticating { problem.detail() } else { problem.message() };
                axum::Json(AuthError { envelope, detail, code: problem.code(), messages }).into_response()
            }
            AppError::NotAuthenticated => axum::Json(AuthError {
                envelope,
                detail: "Authentication credentials were not provided.",
                code: "not_authenticated",
                messages: None,
            })
            .into_response(),
            _ => axum::Json(envelope).into_response(),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Some(retry_after_secs) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        match &self {
            AppError::InvalidCredentials | AppError::NotAuthenticated | AppError::InvalidToken { .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
            }
            _ => {}
        }
        response
    }
}
