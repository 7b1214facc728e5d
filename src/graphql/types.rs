//! Output types and enums of the schema, converted from what the service functions return.

use async_graphql::{ID, SimpleObject};
use entity::user::Model as UserRow;

use super::scalars::{Date, DateTime};
use crate::{
    domain::{Gender, Language, LoginMethod, LoginNext, OtpType},
    service,
};

/// An account.
#[derive(SimpleObject, Debug, Clone)]
pub struct User {
    pub id: ID,
    /// E.164, e.g. `+998901234567`.
    pub phone_number: String,
    pub full_name: String,
    pub username: Option<String>,
    pub date_of_birth: Option<Date>,
    pub gender: Option<Gender>,
    pub language: Language,
    /// False for accounts created before passwords existed or signed up by OTP only.
    pub has_password: bool,
    pub is_notification_enabled: bool,
    pub date_joined: DateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: ID(row.id.to_string()),
            has_password: row.has_usable_password(),
            // The columns hold the Django choices; anything else reads as unset / the column default.
            gender: row.gender.as_deref().and_then(Gender::from_wire),
            language: Language::from_wire(&row.language).unwrap_or(Language::Uz),
            date_of_birth: row.date_of_birth.map(Date),
            date_joined: DateTime(row.date_joined),
            phone_number: row.phone_number,
            full_name: row.full_name,
            username: row.username,
            is_notification_enabled: row.is_notification_enabled,
        }
    }
}

/// A JWT pair (simplejwt-compatible): `access` for `Authorization: Bearer`, `refresh` for `refreshToken`.
#[derive(SimpleObject, Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

impl From<service::token::TokenPair> for TokenPair {
    fn from(pair: service::token::TokenPair) -> Self {
        Self { access: pair.access, refresh: pair.refresh }
    }
}

/// A signed-in user and their tokens.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuthPayload {
    pub user: User,
    pub tokens: TokenPair,
}

impl From<service::user::SignedIn> for AuthPayload {
    fn from(signed_in: service::user::SignedIn) -> Self {
        Self { user: signed_in.user.into(), tokens: signed_in.tokens.into() }
    }
}

/// A code was sent by SMS; `session` identifies it in `verifyOtp`.
#[derive(SimpleObject, Debug, Clone)]
pub struct SendOtpPayload {
    #[graphql(name = "type")]
    pub otp_type: OtpType,
    pub phone_number: String,
    pub session: String,
}

impl From<service::otp::SentOtp> for SendOtpPayload {
    fn from(sent: service::otp::SentOtp) -> Self {
        Self { otp_type: sent.otp_type, phone_number: sent.phone_number.to_string(), session: sent.session }
    }
}

/// The session is verified and can be used once by `register`, `resetPassword` or `loginWithOtp`.
#[derive(SimpleObject, Debug, Clone)]
pub struct VerifyOtpPayload {
    #[graphql(name = "type")]
    pub otp_type: OtpType,
    pub phone_number: String,
    pub session: String,
    pub verified: bool,
}

impl From<service::otp::VerifiedOtp> for VerifyOtpPayload {
    fn from(verified: service::otp::VerifiedOtp) -> Self {
        Self {
            otp_type: verified.otp_type,
            phone_number: verified.phone_number.to_string(),
            session: verified.session,
            verified: true,
        }
    }
}

/// Whether an account exists for a phone number.
#[derive(SimpleObject, Debug, Clone)]
pub struct CheckUserPayload {
    pub exists: bool,
    /// The number in E.164, as stored.
    pub phone_number: String,
}

impl From<service::user::UserLookup> for CheckUserPayload {
    fn from(lookup: service::user::UserLookup) -> Self {
        Self { exists: lookup.exists, phone_number: lookup.phone_number.to_string() }
    }
}

/// Where a login flow goes next for a phone number.
#[derive(SimpleObject, Debug, Clone)]
pub struct LoginCheckPayload {
    pub exists: bool,
    pub has_password: bool,
    pub phone_number: String,
    pub next: LoginNext,
}

impl From<service::user::UserLookup> for LoginCheckPayload {
    fn from(lookup: service::user::UserLookup) -> Self {
        Self {
            next: lookup.next(),
            exists: lookup.exists,
            has_password: lookup.has_password,
            phone_number: lookup.phone_number.to_string(),
        }
    }
}

/// One sign-in, as its owner sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct Session {
    pub id: ID,
    /// The `X-Device-Name` the app sent at sign-in.
    pub device_name: Option<String>,
    pub user_agent: Option<String>,
    /// The network the sign-in came from: its /24 (IPv4) or /48 (IPv6).
    pub ip_network: Option<String>,
    pub login_method: LoginMethod,
    pub created_at: DateTime,
    /// The last token refresh.
    pub last_used_at: DateTime,
    /// The session of the token that asked.
    pub current: bool,
}

impl From<service::device_session::DeviceSession> for Session {
    fn from(session: service::device_session::DeviceSession) -> Self {
        Self {
            id: ID(session.id),
            device_name: session.device_name,
            user_agent: session.user_agent,
            ip_network: session.ip_network,
            login_method: session.login_method,
            created_at: DateTime(session.created_at),
            last_used_at: DateTime(session.last_used_at),
            current: session.current,
        }
    }
}
