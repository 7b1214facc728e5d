//! tower-http layers on every response: CORS, compression and security headers.

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, header},
};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    set_header::SetResponseHeaderLayer,
};

use crate::{config::Config, state::AppState};

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

/// Wraps the router in the response layers.
pub fn with_response_layers(router: Router<AppState>, config: &Config) -> Router<AppState> {
    // One composed layer: `Router::layer` boxes every route once per call, so six separate
    // calls cost six boxed services and futures on every request.
    let [nosniff, frame_options, referrer_policy, cache_control] =
        security_headers().map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, value));
    router.layer(
        ServiceBuilder::new()
            .layer(cors(config))
            .layer(CompressionLayer::new())
            .layer(cache_control)
            .layer(referrer_policy)
            .layer(frame_options)
            .layer(nosniff),
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
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("x-request-id")])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
}
