//! Input checking that lists every problem at once, as DRF serializers do.

use chrono::NaiveDate;
use phonenumber::country;
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

use crate::{
    domain::{PhoneNumber, check_password_policy, is_otp_code},
    error::{AppError, FieldError},
    request::{Field, FromField, Named},
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
    pub fn text(&mut self, input: Named<String>) -> Option<String> {
        let name = input.name;
        match input.field {
            Field::Absent | Field::Null => {
                self.push(FieldError::required(name));
                None
            }
            Field::Value(value) | Field::Unparsed(value) => self.present_text(name, value),
            Field::WrongType => self.wrong_type::<String>(name),
        }
    }

    /// Text that is there: refused when blank or when it holds NUL.
    fn present_text(&mut self, name: &'static str, value: String) -> Option<String> {
        if value.trim().is_empty() {
            self.push(FieldError::blank(name));
            return None;
        }
        // PostgreSQL cannot store U+0000 in text; DRF's CharField refuses it for that reason.
        if value.contains('\0') {
            self.push(FieldError::new(name, "null_characters_not_allowed", "Null characters are not allowed."));
            return None;
        }
        Some(value)
    }

    /// Text that may be left out (absent or null); a wrong JSON type is still refused.
    pub fn optional_text(&mut self, input: Named<String>) -> Option<String> {
        match input.field {
            Field::Absent | Field::Null => None,
            Field::Value(value) | Field::Unparsed(value) => Some(value),
            Field::WrongType => self.wrong_type::<String>(input.name),
        }
    }

    /// `check` for a field that may be left out: absent or null is none.
    pub fn optional<T, U>(
        &mut self,
        input: Named<T>,
        check: impl FnOnce(&mut Self, Named<T>) -> Option<U>,
    ) -> Option<U> {
        match input.field {
            Field::Absent | Field::Null => None,
            _ => check(self, input),
        }
    }

    /// Refuses a field of the wrong JSON type that the request does not otherwise need.
    pub fn well_typed<T: FromField>(&mut self, input: &Named<T>) {
        if matches!(input.field, Field::WrongType) {
            self.wrong_type::<T>(input.name);
        }
    }

    fn wrong_type<T: FromField>(&mut self, name: &'static str) -> Option<T> {
        self.push(FieldError::new(name, "invalid", T::WRONG_TYPE));
        None
    }

    /// A new password (`password`) and its confirmation (`password2`), under the password policy.
    pub fn new_password(&mut self, password: Named<String>, confirmation: Named<String>) -> Option<String> {
        let (password_name, confirmation_name) = (password.name, confirmation.name);
        let password = self.text(password);
        let confirmation = self.text(confirmation);
        let (Some(password), Some(confirmation)) = (password, confirmation) else { return None };
        let failures = check_password_policy(&password, &confirmation, password_name, confirmation_name);
        let acceptable = failures.is_empty();
        self.extend(failures);
        acceptable.then_some(password)
    }

    /// A required string at most `max` characters long, trimmed.
    pub fn bounded_text(&mut self, input: Named<String>, max: usize) -> Option<String> {
        let name = input.name;
        let value = self.text(input)?.trim().to_string();
        if value.chars().count() > max {
            self.push(FieldError::new(
                name,
                "max_length",
                format!("Ensure this field has no more than {max} characters."),
            ));
            return None;
        }
        Some(value)
    }

    /// A person's name shown to others: bounded, trimmed, and free of characters that hide or
    /// reorder text (control, bidi-override and zero-width characters).
    pub fn display_name(&mut self, input: Named<String>, max: usize) -> Option<String> {
        let name = input.name;
        let value = self.bounded_text(input, max)?;
        if value.chars().any(is_disallowed_in_names) {
            self.push(invalid_characters(name));
            return None;
        }
        Some(value)
    }

    /// A username under Django's rules (NFKC-normalised; letters, digits and @/./+/-/_; at most
    /// 150 characters), written in one script so that `аdmin` (Cyrillic а) cannot pass for
    /// `admin`. Blank clears the username. Whether it is taken is for the caller to check.
    pub fn username(&mut self, field: &'static str, value: String) -> UsernameInput {
        let value: String = value.trim().nfkc().collect();
        if value.is_empty() {
            return UsernameInput::Clear;
        }
        let error = if value.chars().any(is_disallowed_in_names) {
            invalid_characters(field)
        } else if value.chars().count() > USERNAME_MAX {
            FieldError::new(
                field,
                "max_length",
                format!("Ensure this field has no more than {USERNAME_MAX} characters."),
            )
        } else if !value.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
            FieldError::new(
                field,
                "invalid",
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            )
        } else if !value.is_single_script() {
            FieldError::new(
                field,
                "mixed_script",
                "Enter a username written in one alphabet; do not mix scripts such as Latin and Cyrillic.",
            )
        } else {
            return UsernameInput::Valid(value);
        };
        self.push(error);
        UsernameInput::Invalid
    }

    pub fn phone(&mut self, input: Named<String>) -> Option<PhoneNumber> {
        let name = input.name;
        let value = self.text(input)?;
        match PhoneNumber::parse(&value, self.region) {
            Ok(phone) => Some(phone),
            Err(_) => {
                self.push(FieldError::new(name, "invalid_phone_number", "The phone number entered is not valid."));
                None
            }
        }
    }

    /// One of a closed set of values, required.
    pub fn choice<T: FromField>(&mut self, input: Named<T>) -> Option<T> {
        let name = input.name;
        match input.field {
            Field::Value(value) => Some(value),
            Field::Unparsed(text) => {
                let text = self.present_text(name, text)?;
                self.push(invalid_choice(name, &text));
                None
            }
            Field::Absent | Field::Null => {
                self.push(FieldError::required(name));
                None
            }
            Field::WrongType => self.wrong_type::<T>(name),
        }
    }

    /// Like `choice`, but absent, null or empty is fine.
    pub fn optional_choice<T: FromField>(&mut self, input: Named<T>) -> Option<T> {
        match input.field {
            Field::Value(value) => Some(value),
            Field::Absent | Field::Null => None,
            Field::Unparsed(text) if text.is_empty() => None,
            Field::Unparsed(text) => {
                self.push(invalid_choice(input.name, &text));
                None
            }
            Field::WrongType => self.wrong_type::<T>(input.name),
        }
    }

    /// A session id: a UUID in any of its usual spellings, returned hyphenated and lower-case.
    pub fn session(&mut self, input: Named<String>) -> Option<String> {
        let name = input.name;
        let value = self.text(input)?;
        match uuid::Uuid::parse_str(value.trim()) {
            Ok(id) => Some(id.hyphenated().to_string()),
            Err(_) => {
                self.push(FieldError::new(name, "invalid", "Must be a valid UUID."));
                None
            }
        }
    }

    pub fn otp_code(&mut self, input: Named<String>) -> Option<String> {
        let name = input.name;
        let value = self.text(input)?.trim().to_string();
        if !is_otp_code(&value) {
            self.push(FieldError::new(name, "invalid", "Enter the 6-digit code from the SMS."));
            return None;
        }
        Some(value)
    }

    /// An optional `YYYY-MM-DD` date that is not in the future; absent, null or empty is none.
    pub fn optional_past_date(&mut self, input: Named<NaiveDate>) -> Option<NaiveDate> {
        let name = input.name;
        match input.field {
            Field::Absent | Field::Null => None,
            Field::Unparsed(text) if text.is_empty() => None,
            Field::Value(date) if date > chrono::Utc::now().date_naive() => {
                self.push(FieldError::new(name, "invalid", "Date of birth cannot be in the future."));
                None
            }
            Field::Value(date) => Some(date),
            Field::Unparsed(_) => {
                self.push(FieldError::new(
                    name,
                    "invalid",
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                ));
                None
            }
            Field::WrongType => self.wrong_type::<NaiveDate>(name),
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

/// Django's `AbstractUser.username` is a `varchar(150)`.
const USERNAME_MAX: usize = 150;

/// What a submitted username amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameInput {
    /// Blank: remove the username.
    Clear,
    /// Normalised and acceptable (uniqueness not yet checked).
    Valid(String),
    /// Refused; the error is in the validator.
    Invalid,
}

/// Characters that let a name hide, reorder or break text where it is shown: control characters
/// (newline, BEL, …), line and paragraph separators, bidi marks, embeddings, overrides and
/// isolates, and zero-width characters.
pub fn is_disallowed_in_names(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

fn invalid_characters(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        "invalid_characters",
        "This field may not contain control, bidirectional-control or zero-width characters.",
    )
}

fn invalid_choice(field: &'static str, value: &str) -> FieldError {
    FieldError::new(field, "invalid_choice", format!("\"{value}\" is not a valid choice."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn username(value: &str) -> (UsernameInput, Vec<String>) {
        let mut validator = Validator::new(country::Id::UZ);
        let outcome = validator.username("username", value.to_string());
        let codes = match validator.finish() {
            Ok(()) => Vec::new(),
            Err(AppError::Validation(errors)) => errors.iter().map(|error| error.code.to_string()).collect(),
            Err(other) => panic!("{other:?}"),
        };
        (outcome, codes)
    }

    #[test]
    fn usernames_are_nfkc_normalised() {
        assert_eq!(username("ａｄｍｉｎ").0, UsernameInput::Valid("admin".into()));
        assert_eq!(username(" Admin ").0, UsernameInput::Valid("Admin".into()));
        assert_eq!(username("  ").0, UsernameInput::Clear);
    }

    #[test]
    fn single_script_usernames_pass_and_mixed_ones_do_not() {
        for name in ["alisher_99", "алишер.99", "Alisher", "Алишер", "o_g_il@mail.uz", "oʻgʻil"] {
            assert_eq!(username(name).0, UsernameInput::Valid(name.into()), "{name}");
        }
        assert_eq!(username("\u{0430}dmin"), (UsernameInput::Invalid, vec!["mixed_script".to_string()]));
    }

    #[test]
    fn hidden_characters_are_refused() {
        for name in ["ad\u{200B}min", "ad\nmin", "ad\u{202E}nim", "admin\u{7}", "\u{FEFF}admin"] {
            assert_eq!(username(name), (UsernameInput::Invalid, vec!["invalid_characters".to_string()]), "{name:?}");
        }
        assert_eq!(username("ad min").1, vec!["invalid".to_string()]);
        assert_eq!(username(&"a".repeat(151)).1, vec!["max_length".to_string()]);
    }

    fn full_name(name: &str) -> Named<String> {
        Named::new("full_name", Field::Value(name.into()))
    }

    #[test]
    fn display_names_keep_ordinary_text_and_refuse_hidden_characters() {
        let mut validator = Validator::new(country::Id::UZ);
        for name in ["Alisher Navoiy", "Алишер Навоий", "O‘tkir Hoshimov", "محمد", "Jean-Luc d'Arc"] {
            assert_eq!(validator.display_name(full_name(name), 255).as_deref(), Some(name));
        }
        assert!(validator.is_valid());
        for name in ["Ali\u{202E}reh", "Ali\nAdmin", "Ali\u{7}", "Ali\u{200B}", "\u{2066}Ali", "Ali\u{200F}"] {
            let mut validator = Validator::new(country::Id::UZ);
            assert_eq!(validator.display_name(full_name(name), 255), None, "{name:?}");
            let Err(AppError::Validation(errors)) = validator.finish() else { panic!("{name:?} passed") };
            assert_eq!((errors[0].field, errors[0].code), (Some("full_name"), "invalid_characters"));
        }
    }
}
