//! Input checking that lists every problem at once, as DRF serializers do.

use chrono::NaiveDate;
use phonenumber::country;

use crate::{
    domain::{PhoneNumber, check_password_policy, is_otp_code},
    error::{AppError, FieldError},
};

/// Collects field errors while parsing raw inputs into domain values.
pub struct Validator {
    errors: Vec<FieldError>,
    region: country::Id,
}

impl Validator {
    pub fn new(region: country::Id) -> Self {
        Self { errors: Vec::new(), region }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.errors.extend(errors);
    }

    /// A required, non-blank string without NUL characters (kept as given: passwords may have spaces).
    pub fn text(&mut self, field: &'static str, value: Option<String>) -> Option<String> {
        match value {
            None => {
                self.push(FieldError::required(field));
                None
            }
            Some(value) if value.trim().is_empty() => {
                self.push(FieldError::blank(field));
                None
            }
            // PostgreSQL cannot store U+0000 in text; DRF's CharField refuses it for that reason.
            Some(value) if value.contains('\0') => {
                self.push(FieldError::new(field, "null_characters_not_allowed", "Null characters are not allowed."));
                None
            }
            Some(value) => Some(value),
        }
    }

    /// A new password (`password`) and its confirmation (`password2`), under the password policy.
    pub fn new_password(&mut self, password: Option<String>, confirmation: Option<String>) -> Option<String> {
        let password = self.text("password", password);
        let confirmation = self.text("password2", confirmation);
        let (Some(password), Some(confirmation)) = (password, confirmation) else { return None };
        let failures = check_password_policy(&password, &confirmation, "password", "password2");
        let acceptable = failures.is_empty();
        self.extend(failures);
        acceptable.then_some(password)
    }

    /// A required string at most `max` characters long, trimmed.
    pub fn bounded_text(&mut self, field: &'static str, value: Option<String>, max: usize) -> Option<String> {
        let value = self.text(field, value)?.trim().to_string();
        if value.chars().count() > max {
            self.push(FieldError::new(
                field,
                "max_length",
                format!("Ensure this field has no more than {max} characters."),
            ));
            return None;
        }
        Some(value)
    }

    pub fn phone(&mut self, field: &'static str, value: Option<String>) -> Option<PhoneNumber> {
        let value = self.text(field, value)?;
        match PhoneNumber::parse(&value, self.region) {
            Ok(phone) => Some(phone),
            Err(_) => {
                self.push(FieldError::new(field, "invalid_phone_number", "The phone number entered is not valid."));
                None
            }
        }
    }

    /// One of a closed set of lower-case words.
    pub fn choice<T>(&mut self, field: &'static str, value: Option<String>, parse: fn(&str) -> Option<T>) -> Option<T> {
        let value = self.text(field, value)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.push(invalid_choice(field, &value));
        }
        parsed
    }

    /// Like `choice`, but absent or null is fine.
    pub fn optional_choice<T>(
        &mut self,
        field: &'static str,
        value: Option<String>,
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = value.filter(|value| !value.is_empty())?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.push(invalid_choice(field, &value));
        }
        parsed
    }

    /// A session id: a UUID in any of its usual spellings, returned hyphenated and lower-case.
    pub fn session(&mut self, field: &'static str, value: Option<String>) -> Option<String> {
        let value = self.text(field, value)?;
        match uuid::Uuid::parse_str(value.trim()) {
            Ok(id) => Some(id.hyphenated().to_string()),
            Err(_) => {
                self.push(FieldError::new(field, "invalid", "Must be a valid UUID."));
                None
            }
        }
    }

    pub fn otp_code(&mut self, field: &'static str, value: Option<String>) -> Option<String> {
        let value = self.text(field, value)?.trim().to_string();
        if !is_otp_code(&value) {
            self.push(FieldError::new(field, "invalid", "Enter the 6-digit code from the SMS."));
            return None;
        }
        Some(value)
    }

    /// An optional `YYYY-MM-DD` date that is not in the future.
    pub fn optional_past_date(&mut self, field: &'static str, value: Option<String>) -> Option<NaiveDate> {
        let value = value.filter(|value| !value.is_empty())?;
        match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
            Ok(date) if date > chrono::Utc::now().date_naive() => {
                self.push(FieldError::new(field, "invalid", "Date of birth cannot be in the future."));
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                self.push(FieldError::new(
                    field,
                    "invalid",
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                ));
                None
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Fails with every collected error, if there are any.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Validation(self.errors)) }
    }

    /// The collected errors as one failure; for the `let … else` after a parse.
    pub fn into_error(self) -> AppError {
        AppError::Validation(self.errors)
    }
}

fn invalid_choice(field: &'static str, value: &str) -> FieldError {
    FieldError::new(field, "invalid_choice", format!("\"{value}\" is not a valid choice."))
}
