//! Liveness, readiness and the Prometheus scrape endpoint.

use std::time::Duration;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::Serialize;

use super::observability::metrics_handle;
use crate::state::AppState;

/// How long a readiness probe waits for each backing service.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(scrape))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// The process is up and serving.
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: &'static str,
    store: &'static str,
}

/// Ready when the database and the store both answer; 503 names the one that does not.
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

/// Prometheus text format.
async fn scrape(State(state): State<AppState>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    metrics::gauge!("password_hash_queue_depth").set(state.passwords.queue_depth() as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_handle().render())
}
