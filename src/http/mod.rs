//! The REST v1 transport: routes, extractors, the error envelope and the OpenAPI document.

mod error;
pub mod extract;
mod health;
pub mod layers;
pub mod observability;
pub mod openapi;
mod schemas;
mod user;

use axum::{
    Router,
    handler::Handler,
    http::Method,
    routing::{MethodFilter, MethodRouter, on},
};

use crate::{config::Config, error::AppError, state::AppState};

/// One REST route. The router and `routes()` read the same table, so nothing is served that
/// the OpenAPI test does not compare with the document.
struct Route {
    method: Method,
    /// The canonical spelling; one ending in `/` is also served without it.
    path: &'static str,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new<H: Handler<T, AppState>, T: 'static>(method: Method, path: &'static str, handler: H) -> Self {
        let filter = MethodFilter::try_from(method.clone()).expect("axum routes every method the API uses");
        Self { method, path, handler: on(filter, handler) }
    }
}

fn table() -> impl Iterator<Item = Route> {
    user::routes().into_iter().chain(health::routes()).chain([Route::new(Method::GET, openapi::PATH, openapi::serve)])
}

/// The REST surface: `/api/v1/users/…`, health, metrics and the OpenAPI document. With
/// `DEBUG=false` `/metrics` is left out: `metrics_router` serves it on `METRICS_BIND`, off the
/// public port, because it shows the load and the queues an attacker would want to see.
pub fn router(config: &Config) -> Router<AppState> {
    serve(table().filter(|route| config.debug || route.path != health::METRICS_PATH))
}

/// `/metrics` alone, for the listener on `METRICS_BIND`.
pub fn metrics_router() -> Router<AppState> {
    serve(table().filter(|route| route.path == health::METRICS_PATH))
}

fn serve(routes: impl Iterator<Item = Route>) -> Router<AppState> {
    routes.fold(Router::new(), |router, Route { path, handler, .. }| {
        // Django clients send both spellings; the slash-less one is the same operation.
        let router = match path.strip_suffix('/') {
            Some(bare) if !bare.is_empty() => router.route(bare, handler.clone()),
            _ => router,
        };
        router.route(path, handler)
    })
}

/// Every (method, canonical path) the REST router serves, `/metrics` included wherever it is
/// served: what the OpenAPI document describes.
pub fn routes() -> Vec<(Method, &'static str)> {
    table().map(|route| (route.method, route.path)).collect()
}

/// Unknown paths get the contract's envelope.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// Known paths with the wrong method get the contract's envelope.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
