//! The service layer: every rule of the product, shared by the REST and GraphQL transports.
//!
//! Each use case is one `verb_noun` function taking `&AppState` and a typed input.

pub mod accounts;
pub mod auth;
pub mod captcha;
pub mod otp;
pub mod password;
pub mod profile;
pub mod rate_limit;
pub mod session;
pub mod sms_budget;
mod state;
pub mod token;
pub mod user;
pub mod validate;

pub use state::{AppState, Services};

use std::net::IpAddr;

/// Who is calling, as far as the transport can tell; per-client limits key on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address (from the socket, or `X-Forwarded-For` behind a trusted proxy).
    pub ip: Option<IpAddr>,
}
