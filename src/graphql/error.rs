//! The GraphQL rendering of failures: `AppError` → `extensions.code`, and codes for the errors
//! async-graphql raises itself, so every error a client sees carries one.
//!
//! The codes are set by the HTTP handler around each operation, not by an async-graphql
//! extension: with any extension registered, every field's resolution goes through the
//! extensions' chain as well.

use async_graphql::{Error, ErrorExtensions, Response, ServerError, Value};
use serde_json::json;

use crate::error::AppError;

/// The document is not valid GraphQL.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// The document does not fit the schema or the limits (depth, complexity).
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

impl ErrorExtensions for AppError {
    fn extend(&self) -> Error {
        graphql_error(self)
    }
}

/// The one mapping: the contract's code, every entry with its field camelCased, `retryAfter` for
/// rate limits and a busy server. Internal causes go to the log; the client only hears "Internal server error.".
pub fn graphql_error(error: &AppError) -> Error {
    if let AppError::Internal(cause) = error {
        tracing::error!(error = format!("{cause:#}"), "internal error in a GraphQL resolver");
    }
    let entries = error.entries();
    let message = entries
        .iter()
        .map(|entry| match entry.field {
            Some(field) => format!("{}: {}", camel_case(field), entry.message),
            None => entry.message.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let errors: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| json!({"field": entry.field.map(camel_case), "code": entry.code, "message": entry.message}))
        .collect();
    Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", error.graphql_code());
        extensions.set("errors", Value::from_json(serde_json::Value::Array(errors)).unwrap_or(Value::Null));
        if let Some(retry_after_secs) = error.retry_after_secs() {
            extensions.set("retryAfter", retry_after_secs);
        }
    })
}

/// An error about the request as a whole (no location, no path), for the HTTP handler.
pub fn request_error(error: Error) -> ServerError {
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    server_error
}

/// An error the transport raises before any resolver runs.
pub fn transport_error(code: &'static str, message: impl Into<String>) -> ServerError {
    request_error(Error::new(message).extend_with(|_, extensions| extensions.set("code", code)))
}

/// `phone_number` → `phoneNumber`, as the GraphQL inputs spell the fields REST names.
pub fn camel_case(snake: &str) -> String {
    let mut camel = String::with_capacity(snake.len());
    let mut upper_next = false;
    for character in snake.chars() {
        if character == '_' {
            upper_next = !camel.is_empty();
        } else if upper_next {
            camel.extend(character.to_uppercase());
            upper_next = false;
        } else {
            camel.push(character);
        }
    }
    camel
}

/// Codes the errors of an operation's response that async-graphql raised itself. Resolver errors
/// all come through `graphql_error` and keep their code; an uncoded one with a path is an argument
/// async-graphql could not coerce, one without is about the document or the operation
/// (validation, complexity, the operation name).
pub(super) fn code_response_errors(mut response: Response) -> Response {
    for error in &mut response.errors {
        let code = if error.path.is_empty() { VALIDATION_FAILED } else { "BAD_USER_INPUT" };
        set_code_unless_coded(error, code);
    }
    response
}

/// Sets `extensions.code` unless the error already has one.
pub(super) fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    set_code_unless_coded(&mut error, code);
    error
}

fn set_code_unless_coded(error: &mut ServerError, code: &'static str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn camel_case_joins_snake_case_words() {
        assert_eq!(camel_case("phone_number"), "phoneNumber");
        assert_eq!(camel_case("old_password"), "oldPassword");
        assert_eq!(camel_case("password2"), "password2");
        assert_eq!(camel_case("type"), "type");
        assert_eq!(camel_case("is_notification_enabled"), "isNotificationEnabled");
    }
}
