//! Per-request bookkeeping: request ids, one log line per request, metrics, and the deadline.

use std::{
    collections::HashMap,
    convert::Infallible,
    pin::Pin,
    sync::{OnceLock, RwLock},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderValue, Method, StatusCode, header::HeaderName},
    response::{IntoResponse, Response},
};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower::{Layer, Service};

use crate::{config::Config, error::AppError, logging::request_id};

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

/// Request id, deadline, one log line and the request metrics, around every route and fallback.
///
/// A tower layer rather than `middleware::from_fn`: that boxes the inner service and its future
/// on every request, which showed in check-user's profile. `Router::layer` wraps each route
/// separately, after routing, so the matched route is already in the request's extensions.
#[derive(Clone)]
pub struct TrackRequestLayer {
    deadline: Duration,
}

impl TrackRequestLayer {
    pub fn new(config: &Config) -> Self {
        Self { deadline: Duration::from_secs(config.request_timeout_secs) }
    }
}

impl<S> Layer<S> for TrackRequestLayer {
    type Service = TrackRequest<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrackRequest { inner, deadline: self.deadline }
    }
}

#[derive(Clone)]
pub struct TrackRequest<S> {
    inner: S,
    deadline: Duration,
}

impl<S> Service<Request> for TrackRequest<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = TrackedResponse<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let finished = Finished {
            started: Instant::now(),
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            deadline: self.deadline,
        };
        let request_id = Some(request_id_of(&request));
        let response = tokio::time::timeout(self.deadline, self.inner.call(request));
        TrackedResponse { response, request_id, finished: Some(finished) }
    }
}

/// The client's request id if it is a sane one, else a fresh v4 UUID.
fn request_id_of(request: &Request) -> HeaderValue {
    request
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
        })
}

pin_project! {
    /// A tracked request's response: the handler's, or the deadline's 503.
    pub struct TrackedResponse<F> {
        #[pin]
        response: Timeout<F>,
        // The current request id while the response is polled (see `request_id::scope`).
        request_id: Option<HeaderValue>,
        finished: Option<Finished>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for TrackedResponse<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(request_id::scope(this.request_id, || {
            let outcome = ready!(this.response.poll(cx));
            let finished = this.finished.take().expect("a tracked response is not polled after it is ready");
            let response = match outcome {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_elapsed) => finished.timed_out(),
            };
            finished.record(response.status());
            Poll::Ready(response)
        }));
        if let Some(request_id) = this.request_id.take() {
            response.headers_mut().insert(REQUEST_ID.clone(), request_id);
        }
        Poll::Ready(Ok(response))
    }
}

/// What the log line and the metrics need once the response is there.
struct Finished {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
    deadline: Duration,
}

impl Finished {
    fn timed_out(&self) -> Response {
        tracing::warn!("request exceeded its {}s deadline", self.deadline.as_secs());
        AppError::ServiceUnavailable { service: "server", code: "timeout" }.into_response()
    }

    fn record(self, status: StatusCode) {
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let status = status.as_u16();
        let latency = self.started.elapsed();
        record_request(&self.method, route, status, latency);
        // Whole hundredths of a millisecond, formatted as integers: the same text as `{:.2}` of
        // the float, without float formatting on every request.
        let hundredths = (latency.as_micros() + 5) / 10;
        tracing::info!(
            method = self.method.as_str(),
            route,
            status,
            latency_ms = format_args!("{}.{:02}", hundredths / 100, hundredths % 100),
            "request"
        );
    }
}
