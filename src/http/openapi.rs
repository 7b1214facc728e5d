//! The OpenAPI 3 document of the REST surface, generated from the handlers' `#[utoipa::path]`
//! attributes and served at `GET /api/v1/openapi.json`. GraphQL describes itself.

use std::sync::OnceLock;

use axum::http::header;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{health, schemas, user};

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

/// Paths served by another documented path's handler: (path, documented twin, operation id).
/// utoipa documents one path per handler, so the twin's operation is copied under its own id.
const TWINS: [(&str, &str, &str); 2] = [
    ("/api/v1/users/login/password/", "/api/v1/users/login/", "login_password"),
    ("/api/v1/users/forgot-password/", "/api/v1/users/forgot-password/reset/", "forgot_password"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tantana Auth REST v1",
        description = "The users API of the Django Tantana Backend, for legacy mobile clients. Every path \
            also answers without its trailing slash. Every non-2xx JSON body is the `Error` envelope; \
            token failures use `AuthError`, which adds simplejwt's `detail`, `code` and `messages`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        user::send_otp,
        user::verify_otp,
        user::register,
        user::login,
        user::login_otp,
        user::check_user,
        user::login_check,
        user::set_password,
        user::reset_password,
        user::refresh_token,
        user::verify_token,
        user::logout,
        user::me,
        user::update_me,
        user::change_password,
        health::healthz,
        health::readyz,
        health::scrape,
        serve,
    ),
    components(
        schemas(schemas::Error, schemas::AuthError),
        responses(
            schemas::BadRequest,
            schemas::InvalidCredentials,
            schemas::Unauthorized,
            schemas::Forbidden,
            schemas::PayloadTooLarge,
            schemas::UnsupportedMediaType,
            schemas::TooManyRequests,
            schemas::ServiceUnavailable,
        ),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "otp", description = "One-time codes by SMS"),
        (name = "accounts", description = "Registration, lookup and password reset"),
        (name = "sign-in", description = "Password and OTP login"),
        (name = "tokens", description = "simplejwt's token views: refresh (rotation), verify, blacklist"),
        (name = "profile", description = "The signed-in user"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    ),
)]
struct ApiDoc;

/// The `bearer` scheme the authenticated operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("An access token from register, login or token/refresh."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as a value.
pub fn document() -> openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for (path, twin, operation_id) in TWINS {
        let mut item = document.paths.paths.get(twin).cloned().unwrap_or_else(|| panic!("{twin} is documented"));
        for operation in [&mut item.get, &mut item.post, &mut item.patch].into_iter().flatten() {
            operation.operation_id = Some(operation_id.to_string());
        }
        document.paths.paths.insert(path.to_string(), item);
    }
    document
}

/// The document as served: serialised once, on first request.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().expect("the OpenAPI document serialises"))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document of the REST surface.", content_type = "application/json")),
)]
pub(super) async fn serve() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], document_json())
}
