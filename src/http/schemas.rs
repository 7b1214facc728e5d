//! Types that exist only to be described in the OpenAPI document: the request bodies the
//! handlers read field by field through `JsonForm`, the closed sets of wire values, the error
//! envelope `http::error` renders, and the error responses the operations share.
//!
//! Nothing constructs them; the document and schemathesis keep them equal to what the
//! handlers really read and write.

#![allow(dead_code)]

use utoipa::{ToResponse, ToSchema};

// --- Closed sets of values (`domain::choice`) ---

/// What a one-time code is for: `auth` registers a new phone, `forgot_password` resets the
/// password of an existing account, `login` signs an existing account in without a password.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum OtpType {
    Auth,
    ForgotPassword,
    Login,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

/// The account's language, also the language of its SMS texts.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Language {
    Uz,
    Ru,
    En,
}

/// Which screen a login flow should show next.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LoginNext {
    Password,
    Otp,
    Register,
}

// --- Request bodies ---
//
// Every field is also accepted as a JSON number where a string is documented (DRF's CharField
// does the same), and `null` counts as absent.

/// Body of `send-otp/`.
#[derive(ToSchema)]
pub struct SendOtpRequest {
    #[schema(rename = "type")]
    pub otp_type: OtpType,
    /// Any usual spelling (`998901234567`, `+998 90 123-45-67`); answers echo it in E.164.
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    /// Required when the server checks reCAPTCHA (`RECAPTCHA_PRIVATE_KEY` is set).
    #[schema(nullable = false)]
    pub recaptcha_token: Option<String>,
}

/// Body of `verify-otp/`.
#[derive(ToSchema)]
pub struct VerifyOtpRequest {
    #[schema(rename = "type")]
    pub otp_type: OtpType,
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    /// The session `send-otp/` returned.
    #[schema(format = "uuid", example = "0b7e3c1e-5d0f-4c55-9a43-6f1c2a9e8b10")]
    pub session: String,
    #[schema(pattern = "^[0-9]{6}$", example = "482913")]
    pub otp_code: String,
}

/// Body of `register/`.
#[derive(ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    /// 8 to 128 characters, not entirely numeric, not a common password.
    #[schema(min_length = 8, max_length = 128, example = "Tashkent-2024!")]
    pub password: String,
    /// Must equal `password`.
    #[schema(min_length = 8, max_length = 128, example = "Tashkent-2024!")]
    pub password2: String,
    #[schema(max_length = 255, example = "Ali Valiyev")]
    pub full_name: String,
    #[schema(example = "1990-05-17")]
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub gender: Option<Gender>,
    /// `uz` when absent.
    pub language: Option<Language>,
    /// A session verified by `verify-otp/` with type `auth`; it is consumed.
    #[schema(format = "uuid")]
    pub session: String,
}

/// Body of `login/` and `login/password/`.
#[derive(ToSchema)]
pub struct LoginRequest {
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    #[schema(example = "Tashkent-2024!")]
    pub password: String,
}

/// Body of `check-user/` and `login/check/`.
#[derive(ToSchema)]
pub struct PhoneNumberRequest {
    #[schema(example = "+998901234567")]
    pub phone_number: String,
}

/// Body of `login/otp/`.
#[derive(ToSchema)]
pub struct OtpLoginRequest {
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    /// A session verified by `verify-otp/` with type `login`; it is consumed.
    #[schema(format = "uuid")]
    pub session: String,
}

/// Body of `login/set-password/`.
#[derive(ToSchema)]
pub struct SetPasswordRequest {
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password2: String,
    /// Required when the account has a password, unless the access token comes from an OTP
    /// login less than 10 minutes old.
    #[schema(nullable = false)]
    pub old_password: Option<String>,
}

/// Body of `forgot-password/reset/` and `forgot-password/`.
#[derive(ToSchema)]
pub struct ResetPasswordRequest {
    #[schema(example = "+998901234567")]
    pub phone_number: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password2: String,
    /// A session verified by `verify-otp/` with type `forgot_password`; it is consumed.
    #[schema(format = "uuid")]
    pub session: String,
}

/// Body of `token/refresh/` and `logout/`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    /// A refresh token.
    pub refresh: String,
}

/// Body of `token/verify/`.
#[derive(ToSchema)]
pub struct VerifyTokenRequest {
    /// An access or a refresh token.
    pub token: String,
}

/// Body of `me/` PATCH: only the fields present change; `null` clears the nullable ones.
#[derive(ToSchema)]
pub struct UpdateProfileRequest {
    #[schema(nullable = false, max_length = 255)]
    pub full_name: Option<String>,
    /// Letters, digits and `@.+-_`, unique.
    #[schema(max_length = 150)]
    pub username: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub gender: Option<Gender>,
    #[schema(nullable = false)]
    pub language: Option<Language>,
    #[schema(nullable = false)]
    pub is_notification_enabled: Option<bool>,
}

/// Body of `change-password/`.
#[derive(ToSchema)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password2: String,
}

// --- The error envelope (`http::error`) ---

/// One problem: a field's (`field` set) or the request's as a whole (`field` null, code
/// prefixed `non_field_errors_`).
#[derive(ToSchema)]
pub struct ErrorEntry {
    /// `<field>_<code>`, as DRF names them.
    #[schema(example = "phone_number_invalid_phone_number")]
    pub code: String,
    #[schema(required = true, example = "phone_number")]
    pub field: Option<String>,
    #[schema(example = "The phone number entered is not valid.")]
    pub message: String,
}

/// The body of every non-2xx answer; all problems are listed.
#[derive(ToSchema)]
pub struct Error {
    /// Always `false`.
    pub success: bool,
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    pub status_code: u16,
    pub errors: Vec<ErrorEntry>,
}

/// simplejwt's message about one token.
#[derive(ToSchema)]
pub struct TokenMessage {
    #[schema(example = "AccessToken")]
    pub token_class: String,
    #[schema(example = "access")]
    pub token_type: String,
    #[schema(example = "Token is expired")]
    pub message: String,
}

/// The envelope of a refused token or missing credentials, with simplejwt's keys, which mobile
/// clients test to decide whether to refresh.
#[derive(ToSchema)]
pub struct AuthError {
    pub success: bool,
    #[schema(example = 401)]
    pub status_code: u16,
    pub errors: Vec<ErrorEntry>,
    #[schema(nullable = false, example = "Given token not valid for any token type")]
    pub detail: Option<String>,
    /// `token_not_valid`, `not_authenticated`, `user_not_found` or `user_inactive`.
    #[schema(nullable = false, example = "token_not_valid")]
    pub code: Option<String>,
    /// For an access token that is not valid.
    #[schema(nullable = false)]
    pub messages: Option<Vec<TokenMessage>>,
}

// --- Error responses shared by the operations ---

/// Invalid input or a broken rule (`non_field_errors_otp_invalid`, `..._session_invalid`,
/// `..._user_exists`, ...), or a body that is not a JSON object.
#[derive(ToResponse)]
#[response(
    description = "Invalid input or a broken rule; every problem is listed.",
    example = json!({"success": false, "status_code": 400, "errors": [
        {"code": "phone_number_invalid_phone_number", "field": "phone_number",
         "message": "The phone number entered is not valid."}]})
)]
pub struct BadRequest(Error);

/// Wrong phone number or password.
#[derive(ToResponse)]
#[response(
    description = "Wrong phone number or password.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    example = json!({"success": false, "status_code": 401, "errors": [
        {"code": "non_field_errors_invalid_credentials", "field": null,
         "message": "Invalid phone number or password."}]})
)]
pub struct InvalidCredentials(Error);

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
pub struct Unauthorized(AuthError);

/// The account is disabled.
#[derive(ToResponse)]
#[response(
    description = "The account is disabled.",
    example = json!({"success": false, "status_code": 403, "errors": [
        {"code": "non_field_errors_user_inactive", "field": null, "message": "User account is disabled."}]})
)]
pub struct Forbidden(Error);

#[derive(ToResponse)]
#[response(description = "The body is larger than 64 KiB.")]
pub struct PayloadTooLarge(Error);

#[derive(ToResponse)]
#[response(description = "A non-empty body that is not `application/json`.")]
pub struct UnsupportedMediaType(Error);

/// A cooldown, an hourly cap, a per-IP limit, an account lock or the SMS budget refused it.
#[derive(ToResponse)]
#[response(
    description = "Throttled: resend cooldown, hourly or per-IP limits, account lock or SMS budget.",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
    example = json!({"success": false, "status_code": 429, "errors": [
        {"code": "non_field_errors_otp_already_sent", "field": null, "message": "OTP Already sent"}]})
)]
pub struct TooManyRequests(Error);

/// The database, the store or the SMS provider did not answer, or the request ran out of time.
#[derive(ToResponse)]
#[response(
    description = "A backing service (database, store, SMS or captcha provider) is down, or the request timed out.",
    example = json!({"success": false, "status_code": 503, "errors": [
        {"code": "non_field_errors_service_unavailable", "field": null,
         "message": "The database is temporarily unavailable. Try again shortly."}]})
)]
pub struct ServiceUnavailable(Error);
