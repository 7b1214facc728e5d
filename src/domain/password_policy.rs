//! The password policy of register, reset, set and change: Django's validators, DRF's messages.

use crate::error::FieldError;

const MIN_LENGTH: usize = 8;
const MAX_LENGTH: usize = 128;

/// Passwords people pick first; compared case-insensitively, as Django's CommonPasswordValidator.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks `password` against the policy and against its confirmation; every failure is listed.
pub fn check_password_policy(
    password: &str,
    confirmation: &str,
    field: &'static str,
    confirmation_field: &'static str,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        errors.push(FieldError::new(
            field,
            "min_length",
            "This password is too short. It must contain at least 8 characters.",
        ));
    }
    if length > MAX_LENGTH {
        errors.push(FieldError::new(field, "max_length", "Ensure this field has no more than 128 characters."));
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FieldError::new(field, "password_entirely_numeric", "This password is entirely numeric."));
    }
    if is_common(password) {
        errors.push(FieldError::new(field, "password_too_common", "This password is too common."));
    }
    if password != confirmation {
        errors.push(FieldError::new(confirmation_field, "password_mismatch", "Passwords do not match."));
    }
    errors
}

fn is_common(password: &str) -> bool {
    let lowered = password.trim().to_lowercase();
    COMMON_PASSWORDS.lines().any(|common| common == lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(password: &str, confirmation: &str) -> Vec<&'static str> {
        check_password_policy(password, confirmation, "password", "password2")
            .into_iter()
            .map(|error| error.code)
            .collect()
    }

    #[test]
    fn a_strong_matching_password_passes() {
        assert!(codes("Tashkent-2024!", "Tashkent-2024!").is_empty());
    }

    #[test]
    fn every_failure_is_listed() {
        assert_eq!(
            codes("1234567", "x"),
            ["min_length", "password_entirely_numeric", "password_too_common", "password_mismatch"]
        );
        assert_eq!(codes("Password", "Password"), ["password_too_common"]);
        assert_eq!(codes(&"a".repeat(129), &"a".repeat(129)), ["max_length"]);
    }
}
