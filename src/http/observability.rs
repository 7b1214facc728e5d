//! The per-request pieces that `layers` wires around every route with tower-http: the request
//! span and its one log line, the request metrics, the deadline's 503, and the Prometheus
//! recorder that `/metrics` renders.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use axum::{
    BoxError,
    extract::{MatchedPath, Request},
    http::{Method, header::HeaderName},
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Span;

use crate::error::AppError;

/// Header carrying the request id, accepted from a proxy or generated here.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-sent request id kept; a longer or odd one is replaced by a fresh UUID.
const MAX_CLIENT_REQUEST_ID: usize = 64;

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
        // server that is never scraped grows with every request.
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

/// Removes a client's request id that is empty, long or not visible ASCII, so that
/// `SetRequestIdLayer` generates one: the id is written into every log line of the request.
pub fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(&REQUEST_ID).is_none_or(|id| {
        let bytes = id.as_bytes();
        !bytes.is_empty() && bytes.len() <= MAX_CLIENT_REQUEST_ID && bytes.iter().all(u8::is_ascii_graphic)
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The route label: the matched route, or one shared label for unknown paths, so neither the
/// metrics nor the logs grow with what clients make up.
fn route_of(request: &Request) -> &str {
    request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str)
}

/// `TraceLayer`'s span around a request; every line logged while serving it carries its fields,
/// also from the password-hashing threads, which enter the span of the request that queued them.
pub fn request_span(request: &Request) -> Span {
    let request_id = request.headers().get(&REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or_default();
    // ERROR level, so the span is on whenever any line is: under `RUST_LOG=warn` a request's
    // warnings still carry its id.
    tracing::error_span!("request", method = %request.method(), route = route_of(request), request_id)
}

/// `TraceLayer`'s one line per finished request, inside the request's span.
pub fn log_response(response: &Response, latency: Duration, _span: &Span) {
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    tracing::info!(status = response.status().as_u16(), latency_ms, "request");
}

/// Counts the request and times it, per method, route and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = route_of(&request).to_owned();
    let response = next.run(request).await;
    let labels = [("method", method.to_owned()), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(started.elapsed().as_secs_f64());
    response
}

/// Clients may send any method token; a label per token would let them grow the metrics.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The answer when tower's `Timeout` gives up on a request: the contract's 503 envelope.
pub async fn answer_deadline(error: BoxError) -> AppError {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request exceeded its deadline (REQUEST_TIMEOUT_SECS)");
        AppError::ServiceUnavailable { service: "server", code: "timeout" }
    } else {
        // The routes inside the timeout cannot fail; kept total rather than panicking.
        AppError::Internal(anyhow::anyhow!(error))
    }
}
