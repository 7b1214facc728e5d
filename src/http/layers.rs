//! The layers around every route: request id, request span and log line, metrics, deadline,
//! CORS, compression, security headers and the body limit.

use std::time::Duration;

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, header},
    middleware,
    response::IntoResponse,
};
use tower::{ServiceBuilder, timeout::TimeoutLayer};
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{
    config::Config,
    http::observability::{self, REQUEST_ID},
    service::AppState,
};

/// Largest request body accepted, on every route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Security headers for an API that serves no third-party content; a handler that needs
/// something else (GraphiQL's assets, say) sets its own value and keeps it.
fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        // Auth responses carry tokens: never cache them.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Wraps every route and fallback in all the layers, outermost first.
///
/// `Router::layer` wraps each route after routing, so the matched route is known to the span and
/// the metrics. The deadline sits inside them: its 503 is logged, counted and carries the id.
pub fn around_every_route(router: Router<AppState>, config: &Config) -> Router<AppState> {
    // One `Router::layer` call: each call boxes every route once more.
    let [nosniff, frame_options, referrer_policy, cache_control] =
        security_headers().map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, value));
    let trace = TraceLayer::new_for_http()
        .make_span_with(observability::request_span)
        .on_request(())
        .on_response(observability::log_response)
        // A 5xx is logged where it arises (`AppError`, the deadline); no second line here.
        .on_failure(());
    router.layer(
        ServiceBuilder::new()
            .map_request(observability::drop_unusable_request_id)
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            .layer(middleware::from_fn(observability::record_metrics))
            .layer(HandleErrorLayer::new(observability::answer_deadline))
            .layer(TimeoutLayer::new(Duration::from_secs(config.request_timeout_secs)))
            // Compression's body type back into axum's, as `Router::layer` would do.
            .map_response(IntoResponse::into_response)
            .layer(cors(config))
            .layer(CompressionLayer::new())
            .layer(cache_control)
            .layer(referrer_policy)
            .layer(frame_options)
            .layer(nosniff)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

fn cors(config: &Config) -> CorsLayer {
    let origins = &config.cors_allowed_origins;
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID.clone()])
        .expose_headers([REQUEST_ID.clone(), header::RETRY_AFTER])
}
