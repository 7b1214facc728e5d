//! Domain values parsed at the service boundary: phone numbers, OTP types, profile enums, passwords.

mod choice;
mod password_policy;
mod phone;
mod region_rules;

pub use choice::{Gender, Language, LoginMethod, LoginNext, OtpType};
pub use password_policy::check_password_policy;
pub use phone::{MobileNumber, PhoneNumber};

/// An OTP code as users type it: exactly six ASCII digits.
pub fn is_otp_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit())
}
