//! Per-request bookkeeping: request ids, one log line per request, metrics, and the deadline.

use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, header::HeaderName},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::{error::AppError, state::AppState};

/// Header carrying the request id, accepted from a proxy or generated here.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Latency buckets (seconds) fine enough to see a 10 ms p99 target.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// How often histogram samples are folded into their buckets when nobody scrapes `/metrics`.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

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
        // The recorder keeps every histogram sample until upkeep drains it: without this thread a
        // server that is never scraped grows by eight bytes per request.
        let upkeep_handle = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(METRICS_UPKEEP_EVERY);
                upkeep_handle.run_upkeep();
            }
        });
        handle
    })
}

/// A request's counter and latency histogram, registered once per method, route and status:
/// building the metric key (label strings, hashing, a registry lookup) on every request cost
/// more than counting.
#[derive(Clone)]
struct RequestMetrics {
    requests: Counter,
    duration: Histogram,
}

fn record_request(method: &Method, route: &str, status: u16, latency: Duration) {
    type ByRoute = HashMap<Box<str>, HashMap<(&'static str, u16), RequestMetrics>>;
    static REGISTERED: OnceLock<RwLock<ByRoute>> = OnceLock::new();
    // Clients may send any method token; a label per token would let them grow the metrics.
    let method = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let registered = REGISTERED.get_or_init(Default::default);
    let known = registered
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(route)
        .and_then(|by_status| by_status.get(&(method, status)).cloned());
    let metrics = known.unwrap_or_else(|| {
        let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
        let metrics = RequestMetrics {
            requests: metrics::counter!("http_requests_total", &labels),
            duration: metrics::histogram!("http_request_duration_seconds", &labels[..2]),
        };
        let mut registered = registered.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        registered.entry(route.into()).or_default().insert((method, status), metrics.clone());
        metrics
    });
    metrics.requests.increment(1);
    metrics.duration.record(latency.as_secs_f64());
}

/// Inner layer (route_layer): remembers which route matched, so the outer layer can label by it.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Outer layer: request id, deadline, one log line and the request metrics.
pub async fn track_request(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty() && bytes.len() <= 64 && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            // A v4 UUID from the thread-local CSPRNG: `Uuid::new_v4` asks the kernel on every call.
            let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            let mut text = [0; uuid::fmt::Simple::LENGTH];
            HeaderValue::from_bytes(uuid.simple().encode_lower(&mut text).as_bytes())
                .expect("hex digits are a valid header value")
        });
    request.headers_mut().insert(REQUEST_ID.clone(), request_id.clone());
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = request_id.to_str().unwrap_or_default());
    let deadline = Duration::from_secs(state.config.request_timeout_secs);
    let mut response = match tokio::time::timeout(deadline, next.run(request).instrument(span.clone())).await {
        Ok(response) => response,
        Err(_) => {
            let _entered = span.enter();
            tracing::warn!("request exceeded its {}s deadline", deadline.as_secs());
            AppError::ServiceUnavailable { service: "server", code: "timeout" }.into_response()
        }
    };
    let matched = response.extensions_mut().remove::<MatchedPath>();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = response.status().as_u16();
    let latency = started.elapsed();
    record_request(&method, route, status, latency);
    tracing::info!(
        parent: &span,
        method = %method,
        route = %route,
        status,
        latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        "request"
    );
    response.headers_mut().insert(REQUEST_ID.clone(), request_id);
    response
}
