//! The service layer: every rule of the product, shared by the REST and GraphQL transports.
//!
//! Each use case is one `verb_noun` function taking `&AppState` and a typed input.

pub mod accounts;
pub mod auth;
pub mod caller;
pub mod captcha;
pub mod device_session;
pub mod devices;
pub mod lifecycle;
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

pub use crate::request::Client;
