//! The REST v1 transport: routes, extractors, the error envelope and the OpenAPI document.

mod account;
mod error;
mod extract;
mod health;
pub mod layers;
pub mod observability;
pub mod openapi;
mod user;

use axum::{Router, http::Method};
use utoipa::{OpenApi, openapi::OpenApi as Document};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{config::Config, error::AppError, service::AppState};

/// The route table: every REST route with its operation, `/metrics` aside so that `router` can
/// leave it out. The served router and the OpenAPI document are both read from it.
fn documented_routes() -> OpenApiRouter<AppState> {
    user::routes()
        .into_iter()
        .chain(account::routes())
        .chain(health::routes())
        .chain([routes!(openapi::serve)])
        .fold(OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()), serve_both_spellings)
}

/// Serves one path's operations at their canonical path and, since Django clients send both,
/// at the path without its trailing slash.
fn serve_both_spellings(
    router: OpenApiRouter<AppState>,
    routes: utoipa_axum::router::UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let (_, paths, handler) = &routes;
    let bare: Vec<String> = paths
        .paths
        .keys()
        .filter_map(|path| path.strip_suffix('/').filter(|bare| !bare.is_empty()).map(str::to_owned))
        .collect();
    let handler = handler.clone();
    bare.iter().fold(router, |router, path| router.route(path, handler.clone())).routes(routes)
}

/// The REST surface: `/api/v1/users/…`, health, metrics and the OpenAPI document. With
/// `DEBUG=false` `/metrics` is left out: `metrics_router` serves it on `METRICS_BIND`, off the
/// public port, because it shows the load and the queues an attacker would want to see.
pub fn router(config: &Config) -> Router<AppState> {
    let routes = documented_routes();
    let routes = if config.debug { routes.routes(health::metrics()) } else { routes };
    routes.into()
}

/// `/metrics` alone, for the listener on `METRICS_BIND`.
pub fn metrics_router() -> Router<AppState> {
    OpenApiRouter::new().routes(health::metrics()).into()
}

/// The OpenAPI document of every route, `/metrics` included wherever it is served.
pub(crate) fn document() -> Document {
    documented_routes().routes(health::metrics()).into_openapi()
}

/// Every (method, canonical path) the REST router serves, `/metrics` included wherever it is
/// served: the operations of the OpenAPI document, which the router is built from.
pub fn routes() -> Vec<(Method, String)> {
    let mut routes = Vec::new();
    for (path, item) in document().paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ];
        routes.extend(
            operations
                .into_iter()
                .filter(|(_, operation)| operation.is_some())
                .map(|(method, _)| (method, path.clone())),
        );
    }
    routes
}

/// Unknown paths get the contract's envelope.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// Known paths with the wrong method get the contract's envelope.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
