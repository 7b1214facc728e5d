//! Per-request bookkeeping: request ids, one log line per request, metrics, and the deadline.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header::HeaderName},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::{error::AppError, state::AppState};

/// Header carrying the request id, accepted from a proxy or generated here.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Latency buckets (seconds) fine enough to see a 10 ms p99 target.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The process-wide Prometheus recorder; installed once, however many apps a process builds.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program's); ours still renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The matched route, copied into the response so the outer layer can label by route.
#[derive(Clone)]
struct RouteLabel(String);

/// Inner layer (route_layer): remembers which route matched.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outer layer: request id, deadline, one log line and the request metrics.
pub async fn track_request(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_graphic()))
        // A v4 UUID from the thread-local CSPRNG: `Uuid::new_v4` asks the kernel on every call.
        .map_or_else(
            || uuid::Builder::from_random_bytes(rand::random()).into_uuid().simple().to_string(),
            str::to_string,
        );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = %request_id);
    let deadline = Duration::from_secs(state.config.request_timeout_secs);
    let mut response = match tokio::time::timeout(deadline, next.run(request).instrument(span.clone())).await {
        Ok(response) => response,
        Err(_) => {
            let _entered = span.enter();
            tracing::warn!("request exceeded its {}s deadline", deadline.as_secs());
            AppError::ServiceUnavailable { service: "server", code: "timeout" }.into_response()
        }
    };
    let route = response.extensions().get::<RouteLabel>().map_or_else(|| "unmatched".to_string(), |r| r.0.clone());
    let status = response.status().as_u16();
    let latency = started.elapsed();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(latency.as_secs_f64());
    tracing::info!(
        parent: &span,
        method = %method,
        route = %route,
        status,
        latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}
