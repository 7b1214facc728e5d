//! Input objects of the mutations, each turned into the service layer's typed input.
//!
//! Required fields are non-null here so clients get typed inputs; blank or malformed values are
//! still judged by the service, which reports them in `extensions.errors` like REST does.

use async_graphql::{InputObject, MaybeUndefined};

use super::scalars::Date;
use crate::{
    domain::{Gender, Language, OtpType},
    request::Field,
    service::{auth, lifecycle, otp, profile, user},
};

/// Asks for a code by SMS.
#[derive(InputObject, Debug)]
pub struct SendOtpInput {
    #[graphql(name = "type")]
    pub otp_type: OtpType,
    /// Any common spelling; answered in E.164.
    pub phone_number: String,
    /// reCAPTCHA response token, for deployments that switch captcha on (`RECAPTCHA_PRIVATE_KEY`).
    pub captcha_token: Option<String>,
}

impl From<SendOtpInput> for otp::SendOtpInput {
    fn from(input: SendOtpInput) -> Self {
        Self {
            r#type: Field::Value(input.otp_type),
            phone_number: Field::Value(input.phone_number),
            recaptcha_token: input.captcha_token.into(),
        }
    }
}

/// Checks the code the user received.
#[derive(InputObject, Debug)]
pub struct VerifyOtpInput {
    #[graphql(name = "type")]
    pub otp_type: OtpType,
    pub phone_number: String,
    pub session: String,
    pub otp_code: String,
}

impl From<VerifyOtpInput> for otp::VerifyOtpInput {
    fn from(input: VerifyOtpInput) -> Self {
        Self {
            r#type: Field::Value(input.otp_type),
            phone_number: Field::Value(input.phone_number),
            session: Field::Value(input.session),
            otp_code: Field::Value(input.otp_code),
        }
    }
}

/// Creates an account behind a session verified for `AUTH`.
#[derive(InputObject, Debug)]
pub struct RegisterInput {
    pub phone_number: String,
    pub password: String,
    /// The password again.
    pub password2: String,
    pub full_name: String,
    pub date_of_birth: Option<Date>,
    pub gender: Option<Gender>,
    /// Defaults to `UZ`.
    pub language: Option<Language>,
    pub session: String,
}

impl From<RegisterInput> for user::RegisterInput {
    fn from(input: RegisterInput) -> Self {
        Self {
            phone_number: Field::Value(input.phone_number),
            password: Field::Value(input.password),
            password2: Field::Value(input.password2),
            full_name: Field::Value(input.full_name),
            date_of_birth: input.date_of_birth.map(|Date(date)| date).into(),
            gender: input.gender.into(),
            language: input.language.into(),
            session: Field::Value(input.session),
        }
    }
}

/// Signs in with a password.
#[derive(InputObject, Debug)]
pub struct LoginInput {
    pub phone_number: String,
    pub password: String,
}

impl From<LoginInput> for auth::LoginInput {
    fn from(input: LoginInput) -> Self {
        Self { phone_number: Field::Value(input.phone_number), password: Field::Value(input.password) }
    }
}

/// Signs in behind a session verified for `LOGIN`.
#[derive(InputObject, Debug)]
pub struct LoginWithOtpInput {
    pub phone_number: String,
    pub session: String,
}

impl From<LoginWithOtpInput> for auth::OtpLoginInput {
    fn from(input: LoginWithOtpInput) -> Self {
        Self { phone_number: Field::Value(input.phone_number), session: Field::Value(input.session) }
    }
}

/// Sets a new password behind a session verified for `FORGOT_PASSWORD`.
#[derive(InputObject, Debug)]
pub struct ResetPasswordInput {
    pub phone_number: String,
    pub password: String,
    pub password2: String,
    pub session: String,
}

impl From<ResetPasswordInput> for auth::ResetPasswordInput {
    fn from(input: ResetPasswordInput) -> Self {
        Self {
            phone_number: Field::Value(input.phone_number),
            password: Field::Value(input.password),
            password2: Field::Value(input.password2),
            session: Field::Value(input.session),
        }
    }
}

/// Sets the caller's password.
#[derive(InputObject, Debug)]
pub struct SetPasswordInput {
    pub password: String,
    pub password2: String,
    /// Needed when the account has a password, unless the caller signed in by OTP in the last
    /// ten minutes.
    pub old_password: Option<String>,
}

impl From<SetPasswordInput> for auth::SetPasswordInput {
    fn from(input: SetPasswordInput) -> Self {
        Self {
            password: Field::Value(input.password),
            password2: Field::Value(input.password2),
            old_password: input.old_password.into(),
        }
    }
}

/// Replaces the caller's password.
#[derive(InputObject, Debug)]
pub struct ChangePasswordInput {
    pub old_password: String,
    pub password: String,
    pub password2: String,
}

impl From<ChangePasswordInput> for auth::ChangePasswordInput {
    fn from(input: ChangePasswordInput) -> Self {
        Self {
            old_password: Field::Value(input.old_password),
            password: Field::Value(input.password),
            password2: Field::Value(input.password2),
        }
    }
}

/// Changes the given profile fields; omitted fields stay as they are, and `null` clears
/// `username`, `dateOfBirth` and `gender`.
#[derive(InputObject, Debug, Default)]
pub struct UpdateProfileInput {
    pub full_name: Option<String>,
    pub username: MaybeUndefined<String>,
    pub date_of_birth: MaybeUndefined<Date>,
    pub gender: MaybeUndefined<Gender>,
    pub language: Option<Language>,
    pub is_notification_enabled: Option<bool>,
}

impl From<UpdateProfileInput> for profile::UpdateProfileInput {
    fn from(input: UpdateProfileInput) -> Self {
        Self {
            full_name: input.full_name.into(),
            username: clearable(input.username),
            date_of_birth: clearable(input.date_of_birth.map_value(|Date(date)| date)),
            gender: clearable(input.gender),
            language: input.language.into(),
            is_notification_enabled: input.is_notification_enabled.into(),
        }
    }
}

/// GraphQL's three states of an input field are the service's absent, null and value.
fn clearable<T>(value: MaybeUndefined<T>) -> Field<T> {
    match value {
        MaybeUndefined::Undefined => Field::Absent,
        MaybeUndefined::Null => Field::Null,
        MaybeUndefined::Value(value) => Field::Value(value),
    }
}

/// Confirms the deletion of the caller's account: give one of the two.
#[derive(InputObject, Debug)]
pub struct DeleteAccountInput {
    /// The account's current password.
    pub password: Option<String>,
    /// A session verified for `DELETE_ACCOUNT` (sent to the account's own number).
    pub session: Option<String>,
}

impl From<DeleteAccountInput> for lifecycle::DeleteAccountInput {
    fn from(input: DeleteAccountInput) -> Self {
        Self { password: input.password.into(), session: input.session.into() }
    }
}

/// Moves the caller's account to a new number.
#[derive(InputObject, Debug)]
pub struct ChangePhoneNumberInput {
    /// The new number, the one the `CHANGE_PHONE` code went to.
    pub phone_number: String,
    /// A session verified for `CHANGE_PHONE`.
    pub session: String,
}

impl From<ChangePhoneNumberInput> for lifecycle::ChangePhoneInput {
    fn from(input: ChangePhoneNumberInput) -> Self {
        Self { phone_number: Field::Value(input.phone_number), session: Field::Value(input.session) }
    }
}
