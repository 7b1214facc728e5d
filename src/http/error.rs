//! The REST rendering of `AppError`: one envelope for every failure (contract §2).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::{AppError, TokenKind};

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: String,
    field: Option<&'a str>,
    message: &'a str,
}

/// The envelope, fields in the order clients have always seen them.
#[derive(Serialize)]
struct ErrorBody<'a> {
    success: bool,
    status_code: u16,
    errors: Vec<ErrorEntry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<[TokenMessage; 1]>,
}

#[derive(Serialize)]
struct TokenMessage {
    token_class: &'static str,
    token_type: &'static str,
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
        let mut body = ErrorBody {
            success: false,
            status_code: status.as_u16(),
            errors,
            detail: None,
            code: None,
            messages: None,
        };
        match &self {
            // simplejwt's keys, which mobile clients test to decide whether to refresh.
            AppError::InvalidToken { problem, kind } => {
                let authenticating = *kind == TokenKind::Access;
                // simplejwt's token views put the token's own message in `detail`; the
                // authentication class puts a generic one there and the specifics in `messages`.
                body.detail = Some(if authenticating { problem.detail() } else { problem.message() });
                body.code = Some(problem.code());
                if authenticating && problem.code() == "token_not_valid" {
                    body.messages = Some([TokenMessage {
                        token_class: "AccessToken",
                        token_type: "access",
                        message: problem.message(),
                    }]);
                }
            }
            AppError::NotAuthenticated => {
                body.detail = Some("Authentication credentials were not provided.");
                body.code = Some("not_authenticated");
            }
            _ => {}
        }
        let mut response = (status, axum::Json(body)).into_response();
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
