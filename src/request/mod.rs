//! What both transports read from an HTTP request: the bearer token, the client's address, whether
//! the body is JSON, and the fields of an input as the client sent them.

mod field;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, connect_info::MockConnectInfo},
    http::{HeaderMap, header, request::Parts},
};
use ipnet::IpNet;

pub(crate) use field::named;
pub use field::{Field, FromField, Named};

use crate::error::{AppError, TokenKind, TokenProblem};

/// The bearer token of the `Authorization` header, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::NotAuthenticated)?;
    let mut words = value.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token)),
        // Another scheme is not ours to judge, as simplejwt leaves it to other authenticators.
        (Some(scheme), _, _) if !scheme.eq_ignore_ascii_case("bearer") => Ok(None),
        _ => Err(AppError::InvalidToken { problem: TokenProblem::Invalid, kind: TokenKind::Access }),
    }
}

/// The bearer token of the `Authorization` header, or why the header is unusable. It is judged
/// only by the use cases that need a caller, so a bad header does not break the others.
#[derive(Debug, Clone)]
pub struct Credentials(pub Result<String, Arc<AppError>>);

impl Credentials {
    /// `None` when the request has no bearer token.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        match bearer_token(headers) {
            Ok(None) => None,
            Ok(Some(token)) => Some(Self(Ok(token.to_owned()))),
            Err(error) => Some(Self(Err(Arc::new(error)))),
        }
    }
}

/// Whether the `Content-Type` is JSON: `application/json` or an `application/*+json` type.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
        let mime = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// Who is calling, as far as the transport can tell: per-client limits key on the address, and
/// a sign-in records all three for the user's list of sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address (from the socket, or `X-Forwarded-For` behind a trusted proxy).
    pub ip: Option<IpAddr>,
    /// `User-Agent`, cut to 256 characters.
    pub user_agent: Option<String>,
    /// `X-Device-Name`, an optional name the app gives its device, cut to 100 characters.
    pub device_name: Option<String>,
}

impl Client {
    /// The caller of a request that arrived through `trusted_proxies`.
    pub fn of(parts: &Parts, trusted_proxies: &[IpNet]) -> Self {
        Self {
            ip: client_ip(parts, trusted_proxies),
            user_agent: header_text(&parts.headers, header::USER_AGENT.as_str(), 256),
            device_name: header_text(&parts.headers, "x-device-name", 100),
        }
    }
}

/// A header's text, trimmed and cut to `max_chars`; `None` when absent, empty or not UTF-8.
fn header_text(headers: &HeaderMap, name: &str, max_chars: usize) -> Option<String> {
    let value = std::str::from_utf8(headers.get(name)?.as_bytes()).ok()?.trim();
    let value: String = value.chars().filter(|c| !c.is_control()).take(max_chars).collect();
    (!value.is_empty()).then_some(value)
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
