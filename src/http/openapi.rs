//! The OpenAPI 3 document of the REST surface, served at `GET /api/v1/openapi.json`. Its paths
//! come from the route table (`http::documented_routes`), each handler's `#[utoipa::path]`
//! describing the operation it serves; this module adds the info, the tags, the bearer scheme
//! and the error responses the operations share. GraphQL describes itself.

use std::sync::OnceLock;

use axum::http::header;
use utoipa::{
    Modify, OpenApi, ToResponse,
    openapi::{
        self,
        path::{Operation, Paths},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_axum::router::UtoipaMethodRouter;

use super::error::{AuthError, Error};
use crate::service::AppState;

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tantana Auth REST v1",
        description = "The users API of the Django Tantana Backend, for legacy mobile clients. Every path \
            also answers without its trailing slash. Every non-2xx JSON body is the `Error` envelope; \
            token failures use `AuthError`, which adds simplejwt's `detail`, `code` and `messages`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(
        schemas(Error, AuthError),
        responses(
            BadRequest,
            InvalidCredentials,
            Unauthorized,
            Forbidden,
            NotFound,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            ServiceUnavailable,
        ),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "otp", description = "One-time codes by SMS"),
        (name = "accounts", description = "Registration, lookup and password reset"),
        (name = "sign-in", description = "Password and OTP login"),
        (name = "tokens", description = "simplejwt's token views: refresh (rotation), verify, blacklist"),
        (name = "profile", description = "The signed-in user: profile, password, phone number, deletion"),
        (name = "sessions", description = "Sign-in sessions and devices: list, end one, end all"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    ),
)]
pub(super) struct ApiDoc;

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

/// `routes` (one path's operations) also served at `path`, an older spelling Django clients
/// still call, documented there under its own operation id.
pub(super) fn aliased(
    (schemas, paths, handler): UtoipaMethodRouter<AppState>,
    path: &str,
    operation_id: &str,
) -> UtoipaMethodRouter<AppState> {
    let mut aliases = Paths::new();
    for (_, mut item) in paths.paths {
        let operations: [&mut Option<Operation>; 3] = [&mut item.get, &mut item.post, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.operation_id = Some(operation_id.to_string());
        }
        aliases.paths.insert(path.to_string(), item);
    }
    (schemas, aliases, handler)
}

/// The document as a value.
pub fn document() -> openapi::OpenApi {
    super::document()
}

/// The document as served: built and serialised once, on first request.
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

// The error responses the operations share, by name: `(status = 400, response = BadRequest)`.
// They are named components of the document, so these types are its vocabulary, not values.

/// Invalid input or a broken rule (`non_field_errors_otp_invalid`, `..._session_invalid`,
/// `..._user_exists`, ...), or a body that is not a JSON object.
#[derive(ToResponse)]
#[response(
    description = "Invalid input or a broken rule; every problem is listed.",
    example = json!({"success": false, "status_code": 400, "errors": [
        {"code": "phone_number_invalid_phone_number", "field": "phone_number",
         "message": "The phone number entered is not valid."}]})
)]
pub struct BadRequest(pub Error<'static>);

/// Wrong phone number or password.
#[derive(ToResponse)]
#[response(
    description = "Wrong phone number or password.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    example = json!({"success": false, "status_code": 401, "errors": [
        {"code": "non_field_errors_invalid_credentials", "field": null,
         "message": "Invalid phone number or password."}]})
)]
pub struct InvalidCredentials(pub Error<'static>);

/// A missing, malformed, expired or revoked token, or one whose user is gone or inactive.
#[derive(ToResponse)]
#[response(
    description = "No credentials, or the token was refused; carries simplejwt's `detail`, `code` and `messages`.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    example = json!({"success": false, "status_code": 401,
        "errors": [{"code": "non_field_errors_token_not_valid", "field": null,
                    "message": "Given token not valid for any token type"}],
        "detail": "Given token not valid for any token type", "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is expired"}]})
)]
pub struct Unauthorized(pub AuthError<'static>);

/// The account is disabled.
#[derive(ToResponse)]
#[response(
    description = "The account is disabled.",
    example = json!({"success": false, "status_code": 403, "errors": [
        {"code": "non_field_errors_user_inactive", "field": null, "message": "User account is disabled."}]})
)]
pub struct Forbidden(pub Error<'static>);

/// Nothing with that id belongs to the caller.
#[derive(ToResponse)]
#[response(
    description = "Not found (or not the caller's).",
    example = json!({"success": false, "status_code": 404, "errors": [
        {"code": "non_field_errors_not_found", "field": null, "message": "Not found."}]})
)]
pub struct NotFound(pub Error<'static>);

/// The body is over the size limit.
#[derive(ToResponse)]
#[response(description = "The body is larger than 64 KiB.")]
pub struct PayloadTooLarge(pub Error<'static>);

/// A body in another format than JSON.
#[derive(ToResponse)]
#[response(description = "A non-empty body that is not `application/json`.")]
pub struct UnsupportedMediaType(pub Error<'static>);

/// A cooldown, an hourly cap, a per-IP limit, an account lock or the SMS budget refused it.
#[derive(ToResponse)]
#[response(
    description = "Throttled: resend cooldown, hourly or per-IP limits, account lock or SMS budget.",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
    example = json!({"success": false, "status_code": 429, "errors": [
        {"code": "non_field_errors_otp_already_sent", "field": null, "message": "OTP Already sent"}]})
)]
pub struct TooManyRequests(pub Error<'static>);

/// The database, the store or the SMS provider did not answer, or the request ran out of time.
#[derive(ToResponse)]
#[response(
    description = "A backing service (database, store, SMS or captcha provider) is down, or the request timed out.",
    example = json!({"success": false, "status_code": 503, "errors": [
        {"code": "non_field_errors_service_unavailable", "field": null,
         "message": "The database is temporarily unavailable. Try again shortly."}]})
)]
pub struct ServiceUnavailable(pub Error<'static>);
