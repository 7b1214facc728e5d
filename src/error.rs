//! `AppError`: every failure the service can report, with the codes both transports derive from.

use std::borrow::Cow;

/// One problem with one input field (or with the request as a whole when `field` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// snake_case field name as REST spells it; GraphQL camelCases it.
    pub field: Option<&'static str>,
    /// DRF-style code without the field prefix (`required`, `invalid_phone_number`).
    pub code: &'static str,
    pub message: Cow<'static, str>,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self { field: Some(field), code, message: message.into() }
    }

    pub fn required(field: &'static str) -> Self {
        Self::new(field, "required", "This field is required.")
    }

    pub fn blank(field: &'static str) -> Self {
        Self::new(field, "blank", "This field may not be blank.")
    }
}

/// A business rule the request broke; the same rule gives the same code in REST and GraphQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    OtpInvalid,
    OtpExpired,
    OtpAttemptsExceeded,
    SessionInvalid,
    UserExists,
    UserNotFound,
}

impl Rule {
    /// REST code suffix (`non_field_errors_<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Rule::OtpInvalid => "otp_invalid",
            Rule::OtpExpired => "otp_expired",
            Rule::OtpAttemptsExceeded => "otp_attempts_exceeded",
            Rule::SessionInvalid => "session_invalid",
            Rule::UserExists => "user_exists",
            Rule::UserNotFound => "user_not_found",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Rule::OtpInvalid => "Invalid OTP code.",
            Rule::OtpExpired => "OTP code has expired. Request a new one.",
            Rule::OtpAttemptsExceeded => "Too many wrong codes. Request a new one.",
            Rule::SessionInvalid => "Invalid or expired session.",
            Rule::UserExists => "User exists with this phone number",
            Rule::UserNotFound => "User does not exist with this phone number",
        }
    }
}

/// Why a JWT was refused; rendered in simplejwt's body so mobile clients know to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Bad signature, malformed, wrong algorithm or wrong type.
    Invalid,
    Expired,
    /// Blacklisted, rotated away, or issued before a password change.
    Revoked,
    UserNotFound,
    UserInactive,
}

/// Which kind of token was expected: an access token in `Authorization` gets simplejwt's
/// authentication body, the token endpoints get the token-view body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    /// `token/verify/` takes either kind.
    Any,
}

/// Every failure of the service. `status()` and `graphql_code()` feed the two transports.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{}", .0.message())]
    Rule(Rule),
    #[error("invalid phone number or password")]
    InvalidCredentials,
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    #[error("token refused: {problem:?}")]
    InvalidToken { problem: TokenProblem, kind: TokenKind },
    #[error("{message}")]
    Forbidden { code: &'static str, message: &'static str },
    #[error("{message}")]
    RateLimited { code: &'static str, message: &'static str, retry_after_secs: u64 },
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A backing service (database, store, SMS provider) did not answer.
    #[error("{service} unavailable")]
    ServiceUnavailable { service: &'static str, code: &'static str },
    /// Too much work is already waiting (the password-hash queue is full): refused at once, with
    /// a hint of when to come back, rather than answered late.
    #[error("server busy")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Result of every service function.
pub type AppResult<T, E = AppError> = Result<T, E>;

impl AppError {
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::Validation(errors)
    }

    pub fn field(field: &'static str, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// The account is disabled (403).
    pub fn user_inactive() -> Self {
        Self::Forbidden { code: "user_inactive", message: "User account is disabled." }
    }

    pub fn database_unavailable() -> Self {
        Self::ServiceUnavailable { service: "database", code: "service_unavailable" }
    }

    pub fn store_unavailable() -> Self {
        Self::ServiceUnavailable { service: "store", code: "service_unavailable" }
    }

    /// HTTP status of the REST rendering.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) | AppError::Rule(_) | AppError::Malformed(_) => 400,
            AppError::InvalidCredentials | AppError::NotAuthenticated | AppError::InvalidToken { .. } => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound => 404,
            AppError::MethodNotAllowed => 405,
            AppError::PayloadTooLarge => 413,
            AppError::UnsupportedMediaType => 415,
            AppError::RateLimited { .. } => 429,
            AppError::ServiceUnavailable { .. } | AppError::Busy { .. } => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// `extensions.code` of the GraphQL rendering.
    pub fn graphql_code(&self) -> &'static str {
        match self {
            AppError::Validation(_) | AppError::Malformed(_) => "BAD_USER_INPUT",
            AppError::Rule(rule) => match rule {
                Rule::OtpInvalid => "OTP_INVALID",
                Rule::OtpExpired => "OTP_EXPIRED",
                Rule::OtpAttemptsExceeded => "OTP_ATTEMPTS_EXCEEDED",
                Rule::SessionInvalid => "SESSION_INVALID",
                Rule::UserExists => "USER_EXISTS",
                Rule::UserNotFound => "USER_NOT_FOUND",
            },
            AppError::InvalidCredentials | AppError::NotAuthenticated | AppError::InvalidToken { .. } => {
                "UNAUTHENTICATED"
            }
            AppError::Forbidden { .. } => "FORBIDDEN",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::NotFound => "NOT_FOUND",
            AppError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            AppError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            AppError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            AppError::ServiceUnavailable { .. } | AppError::Busy { .. } => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The entries of the REST `errors` array / GraphQL message: (field, code, message).
    pub fn entries(&self) -> Vec<FieldError> {
        let whole = |code: &'static str, message: Cow<'static, str>| vec![FieldError { field: None, code, message }];
        match self {
            AppError::Validation(errors) => errors.clone(),
            AppError::Rule(rule) => whole(rule.code(), rule.message().into()),
            AppError::InvalidCredentials => whole("invalid_credentials", "Invalid phone number or password.".into()),
            AppError::NotAuthenticated => {
                whole("not_authenticated", "Authentication credentials were not provided.".into())
            }
            AppError::InvalidToken { problem, kind: TokenKind::Access } => {
                whole(problem.code(), problem.detail().into())
            }
            AppError::InvalidToken { problem, .. } => whole(problem.code(), problem.message().into()),
            AppError::Forbidden { code, message } | AppError::RateLimited { code, message, .. } => {
                whole(code, (*message).into())
            }
            AppError::Malformed(detail) => whole("parse_error", format!("JSON parse error - {detail}").into()),
            AppError::NotFound => whole("not_found", "Not found.".into()),
            AppError::MethodNotAllowed => whole("method_not_allowed", "Method not allowed.".into()),
            AppError::PayloadTooLarge => whole("payload_too_large", "Request body is larger than 64 KiB.".into()),
            AppError::UnsupportedMediaType => {
                whole("unsupported_media_type", "Unsupported media type in request. Send application/json.".into())
            }
            AppError::ServiceUnavailable { service, code } => {
                whole(code, format!("The {service} is temporarily unavailable. Try again shortly.").into())
            }
            AppError::Busy { .. } => whole("service_unavailable", "The server is busy. Try again in a moment.".into()),
            AppError::Internal(_) => whole("internal_error", "Internal server error.".into()),
        }
    }

    /// Seconds the client should wait before retrying (`Retry-After`, GraphQL `retryAfter`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs, .. } | AppError::Busy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }
}

impl TokenProblem {
    /// simplejwt's top-level `code`.
    pub fn code(self) -> &'static str {
        match self {
            TokenProblem::Invalid | TokenProblem::Expired | TokenProblem::Revoked => "token_not_valid",
            TokenProblem::UserNotFound => "user_not_found",
            TokenProblem::UserInactive => "user_inactive",
        }
    }

    /// simplejwt's top-level `detail`.
    pub fn detail(self) -> &'static str {
        match self {
            TokenProblem::Invalid | TokenProblem::Expired | TokenProblem::Revoked => {
                "Given token not valid for any token type"
            }
            TokenProblem::UserNotFound => "User not found",
            TokenProblem::UserInactive => "User is inactive",
        }
    }

    /// simplejwt's per-token message.
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Invalid => "Token is invalid",
            TokenProblem::Expired => "Token is expired",
            TokenProblem::Revoked => "Token is blacklisted",
            TokenProblem::UserNotFound | TokenProblem::UserInactive => self.detail(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match error {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => AppError::database_unavailable(),
            other if lost_database_connection(&other) => AppError::database_unavailable(),
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// A query that failed because its connection is gone (the server restarted or closed it):
/// the database is unavailable for this request, not broken. sqlx drops such a connection when
/// it comes back to the pool, so the next request gets a fresh one.
fn lost_database_connection(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    let (DbErr::Query(RuntimeErr::SqlxError(error)) | DbErr::Exec(RuntimeErr::SqlxError(error))) = error else {
        return false;
    };
    match error.as_ref() {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P01–57P03 (shutdown, crash, starting up).
        Error::Database(database) => {
            database.code().is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

impl From<redis::RedisError> for AppError {
    fn from(error: redis::RedisError) -> Self {
        if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal() || error.is_timeout() {
            AppError::store_unavailable()
        } else {
            AppError::Internal(anyhow::Error::new(error).context("store command failed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{io, sync::Arc};

    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};

    use super::*;

    /// A failed query as SeaORM reports it (its `sqlx_error_to_query_err`, which is not public).
    fn failed_query(error: sqlx::Error) -> AppError {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(error))).into()
    }

    #[test]
    fn a_lost_database_connection_is_unavailability_and_other_query_failures_are_internal() {
        let reset = failed_query(sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionReset)));
        assert!(matches!(reset, AppError::ServiceUnavailable { service: "database", .. }), "{reset:?}");
        assert!(matches!(failed_query(sqlx::Error::PoolTimedOut), AppError::ServiceUnavailable { .. }));
        assert!(matches!(failed_query(sqlx::Error::RowNotFound), AppError::Internal(_)));
        // An exhausted pool, as SeaORM reports it when acquiring a connection.
        let acquire = AppError::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert!(matches!(acquire, AppError::ServiceUnavailable { service: "database", .. }), "{acquire:?}");
    }
}
