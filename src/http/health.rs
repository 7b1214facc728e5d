//! Liveness, readiness and the Prometheus scrape endpoint.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::UtoipaMethodRouter, routes};

use super::observability::metrics_handle;
use crate::service::AppState;

/// How long a readiness probe waits for each backing service.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness and readiness.
pub(super) fn routes() -> [UtoipaMethodRouter<AppState>; 2] {
    [routes!(healthz), routes!(readyz)]
}

/// The Prometheus scrape: on the public port with `DEBUG=true`, on `METRICS_BIND` otherwise.
pub(super) fn metrics() -> UtoipaMethodRouter<AppState> {
    routes!(scrape)
}

#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive.", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ok` or `unavailable`.
    #[schema(example = "ok")]
    status: &'static str,
    /// `ok` or `down`.
    #[schema(example = "ok")]
    database: &'static str,
    /// `ok` or `down`.
    #[schema(example = "ok")]
    store: &'static str,
}

/// Ready when the database and the store both answer; 503 names the one that does not.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Database and store answer.", body = Readiness),
        (status = 503, description = "The database or the store (marked `down`) does not answer.", body = Readiness,
            example = json!({"status": "unavailable", "database": "ok", "store": "down"})),
    ),
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = async { state.db.ping().await.is_ok() };
    let store = async { state.store.ping().await.is_ok() };
    let (database, store) =
        tokio::join!(tokio::time::timeout(PROBE_TIMEOUT, database), tokio::time::timeout(PROBE_TIMEOUT, store));
    let word = |answered: Result<bool, _>| if answered == Ok(true) { "ok" } else { "down" };
    let readiness = Readiness { status: "ok", database: word(database), store: word(store) };
    if readiness.database == "ok" && readiness.store == "ok" {
        (StatusCode::OK, Json(readiness))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "unavailable", ..readiness }))
    }
}

/// Prometheus text format. Served on the public port only with `DEBUG=true`; with `DEBUG=false`
/// on the `METRICS_BIND` address (default `127.0.0.1:9100`) instead.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format.", body = String,
        content_type = "text/plain")),
)]
async fn scrape(State(state): State<AppState>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    metrics::gauge!("password_hash_queue_depth").set(state.passwords.queue_depth() as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_handle().render())
}
