//! GraphiQL on `GET /graphql`, entirely from files compiled into the binary: it works offline,
//! and its Content-Security-Policy forbids the page from loading anything from elsewhere.

use axum::{
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use crate::error::AppError;

/// The page's own scripts and styles only; GraphiQL sets inline styles and inlines its fonts
/// and icons as `data:` URLs; it talks to this server only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Vendored from npm by `assets/vendor.sh` (versions and checksums there), plus our own glue.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", JAVASCRIPT, include_bytes!("assets/graphiql.min.js")),
    ("graphiql.min.css", CSS, include_bytes!("assets/graphiql.min.css")),
    ("react.production.min.js", JAVASCRIPT, include_bytes!("assets/react.production.min.js")),
    ("react-dom.production.min.js", JAVASCRIPT, include_bytes!("assets/react-dom.production.min.js")),
    ("graphiql-init.js", JAVASCRIPT, include_bytes!("assets/graphiql-init.js")),
    ("graphiql-page.css", CSS, include_bytes!("assets/graphiql-page.css")),
    ("LICENSE.graphiql", TEXT, include_bytes!("assets/LICENSE.graphiql")),
    ("LICENSE.react", TEXT, include_bytes!("assets/LICENSE.react")),
    ("LICENSE.react-dom", TEXT, include_bytes!("assets/LICENSE.react-dom")),
];

/// The GraphiQL page.
pub fn page() -> Response {
    let mut response = axum::response::Html(include_str!("assets/graphiql.html")).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /graphql/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return AppError::NotFound.into_response();
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The names carry no version, so caches check back hourly after an upgrade.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
