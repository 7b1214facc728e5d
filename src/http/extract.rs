//! Request extractors that turn every malformed request into an `AppError`, never a bare 4xx/5xx.

use std::net::{IpAddr, SocketAddr};

use axum::{
    body::Bytes,
    extract::{
        ConnectInfo, FromRequest, FromRequestParts, Request, connect_info::MockConnectInfo, rejection::BytesRejection,
    },
    http::{header, request::Parts},
};
use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::{
    error::{AppError, FieldError},
    service::{
        Client,
        auth::{self, CurrentUser},
    },
    state::AppState,
};

/// A JSON object body, read field by field like a DRF serializer reads `request.data`.
pub struct JsonForm {
    fields: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl JsonForm {
    /// A string field. Numbers are accepted as their text, as DRF's CharField does; null is absent.
    pub fn string(&mut self, field: &'static str) -> Option<String> {
        match self.fields.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                self.errors.push(FieldError::new(field, "invalid", "Not a valid string."));
                None
            }
        }
    }

    /// A field of a partial update: absent → `None` (unchanged), null → `Some("")` (cleared).
    pub fn patch_string(&mut self, field: &'static str) -> Option<String> {
        match self.fields.get(field) {
            Some(Value::Null) => {
                self.fields.remove(field);
                Some(String::new())
            }
            _ => self.string(field),
        }
    }

    /// An optional boolean field.
    pub fn boolean(&mut self, field: &'static str) -> Option<bool> {
        match self.fields.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(value)) => Some(value),
            Some(_) => {
                self.errors.push(FieldError::new(field, "invalid", "Must be a valid boolean."));
                None
            }
        }
    }

    /// Fails with the type errors met while reading fields.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Validation(self.errors)) }
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonForm {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
        let is_json = content_type.is_some_and(|value| {
            let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
        let has_content_type = content_type.is_some();
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_) if rejection.status() == 413 => AppError::PayloadTooLarge,
            other => AppError::Malformed(other.body_text()),
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) && (!has_content_type || is_json) {
            // DRF reads an empty body as an empty form: the required fields are then reported.
            return Ok(Self { fields: Map::new(), errors: Vec::new() });
        }
        if !is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(fields)) => Ok(Self { fields, errors: Vec::new() }),
            Ok(other) => Err(AppError::Validation(vec![FieldError {
                field: None,
                code: "invalid",
                message: format!("Invalid data. Expected a dictionary, but got {}.", json_kind(&other)).into(),
            }])),
            Err(error) => Err(AppError::Malformed(error.to_string())),
        }
    }
}

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

/// The bearer token of the `Authorization` header, if the request has one.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::NotAuthenticated)?;
    let mut words = value.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token)),
        // Another scheme is not ours to judge, as simplejwt leaves it to other authenticators.
        (Some(scheme), _, _) if !scheme.eq_ignore_ascii_case("bearer") => Ok(None),
        _ => Err(AppError::InvalidToken {
            problem: crate::error::TokenProblem::Invalid,
            kind: crate::error::TokenKind::Access,
        }),
    }
}

/// The client's address: the socket peer, or, when the peer is a trusted proxy, the address
/// its chain of trusted proxies reports. `X-Forwarded-For` is walked right to left (each proxy
/// appends the address it saw) and the walk stops at the first hop that is not a trusted proxy,
/// or at one that does not parse: everything left of that was written by the client.
pub fn client_ip(parts: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    // Read as axum's `ConnectInfo` extractor does: the socket's address, or the one a test
    // router was given with `MockConnectInfo`.
    let peer =
        parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip()).or_else(|| {
            parts.extensions.get::<MockConnectInfo<SocketAddr>>().map(|MockConnectInfo(address)| address.ip())
        })?;
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|network| network.contains(ip));
    let mut client = peer.to_canonical();
    let hops = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|value| value.to_str().unwrap_or_default())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        if !trusted(&client) {
            break;
        }
        match forwarded_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`203.0.113.5:4444`,
/// `[2001:db8::9]:4444`). IPv4-mapped IPv6 addresses become plain IPv4.
fn forwarded_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|address| address.ip()))?;
    Some(ip.to_canonical())
}

/// The calling client, for per-client limits.
pub struct ClientInfo(pub Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(ClientInfo(Client { ip: client_ip(parts, &state.config.trusted_proxies) }))
    }
}

/// The authenticated caller; rejects with simplejwt's 401 bodies.
pub struct AuthUser(pub CurrentUser);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(parts)?.ok_or(AppError::NotAuthenticated)?;
        Ok(AuthUser(auth::authenticate(state, token).await?))
    }
}
