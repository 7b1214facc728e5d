//! The service layer: every rule of the product, shared by the REST and GraphQL transports.
//!
//! Each use case is one `verb_noun` function taking `&AppState` and a typed input.

pub mod auth;
pub mod otp;
pub mod password;
pub mod profile;
pub mod session;
pub mod token;
pub mod user;
pub mod validate;
