//! Tantana Auth: phone-number accounts, OTP by SMS and JWT sessions, over REST v1 and GraphQL.

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod request;
pub mod server;
pub mod service;
pub mod sms;
pub mod store;

use axum::Router;

pub use service::AppState;

/// The whole HTTP application for a ready state.
pub fn app(state: AppState) -> Router {
    // Installs the metrics recorder before the first request counts anything.
    http::observability::metrics_handle();
    let routes = Router::new()
        .merge(http::router(&state.config))
        .merge(graphql::router(&state))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed);
    http::layers::around_every_route(routes, &state.config).with_state(state)
}

/// What the `METRICS_BIND` listener serves when `DEBUG=false`: `/metrics` and the 404 envelope.
pub fn metrics_app(state: AppState) -> Router {
    http::observability::metrics_handle();
    let routes = http::metrics_router().fallback(http::not_found).method_not_allowed_fallback(http::method_not_allowed);
    http::layers::around_every_route(routes, &state.config).with_state(state)
}
