//! Request extractors that turn every malformed request into an `AppError`, never a bare 4xx/5xx.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{
    error::{AppError, FieldError},
    request::{Credentials, bearer_token, is_json},
    service::{
        AppState, Client,
        caller::{self, CurrentUser},
    },
};

/// A JSON object body read into an input struct of `Field`s (each `#[serde(default)]`, so a
/// missing key is `Absent`), as a DRF serializer reads
/// `request.data`: every key's value is kept for the service to judge, so it can list every
/// problem at once. Only a body that is not a JSON object is refused here.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let is_json = is_json(request.headers());
        let has_content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some();
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_) if rejection.status() == 413 => AppError::PayloadTooLarge,
            other => AppError::Malformed(other.body_text()),
        })?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) && (!has_content_type || is_json) {
            // DRF reads an empty body as an empty form: the required fields are then reported.
            Ok(Value::Object(Map::new()))
        } else if is_json {
            serde_json::from_slice::<Value>(&bytes)
        } else {
            return Err(AppError::UnsupportedMediaType);
        };
        match body {
            Ok(object @ Value::Object(_)) => {
                T::deserialize(object).map(Self).map_err(|error| AppError::Malformed(error.to_string()))
            }
            Ok(other) => Err(AppError::Validation(vec![FieldError {
                field: None,
                code: "invalid",
                message: format!("Invalid data. Expected a dictionary, but got {}.", json_kind(&other)).into(),
            }])),
            Err(error) => Err(AppError::Malformed(error.to_string())),
        }
    }
}

/// The Python type name DRF's message uses.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The calling client, for per-client limits.
pub struct ClientInfo(pub Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(ClientInfo(Client::of(parts, &state.config.trusted_proxies)))
    }
}

/// The request's bearer credentials, unjudged: for a use case that needs a caller only for some
/// inputs.
pub struct Bearer(pub Option<Credentials>);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(Bearer(Credentials::of(&parts.headers)))
    }
}

/// The authenticated caller; rejects with simplejwt's 401 bodies.
pub struct AuthUser(pub CurrentUser);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers)?.ok_or(AppError::NotAuthenticated)?;
        Ok(AuthUser(caller::authenticate(state, token).await?))
    }
}
