//! The REST v1 transport: routes, extractors and the error envelope.

mod error;
pub mod extract;
mod health;
pub mod layers;
pub mod observability;
mod user;

use axum::Router;

use crate::{error::AppError, state::AppState};

/// The REST surface under `/api/v1`, plus health and metrics.
pub fn router() -> Router<AppState> {
    Router::new().nest("/api/v1/users", user::router()).merge(health::router())
}

/// Unknown paths get the contract's envelope.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// Known paths with the wrong method get the contract's envelope.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
