//! JWTs compatible with djangorestframework-simplejwt 5.5.1: HS256, the same claims, the same bytes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::domain::LoginMethod;
use crate::{
    config::Config,
    error::{AppError, AppResult, TokenKind, TokenProblem},
};

/// PyJWT writes the header with sorted keys and no spaces; we write the same bytes
/// (jsonwebtoken's own `encode` would write `typ` first), and let jsonwebtoken sign them.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The claims of an access or refresh token, in simplejwt's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(deserialize_with = "user_id_from_string_or_number")]
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_method: Option<LoginMethod>,
    /// When the user signed in (OpenID Connect's claim): kept through refresh and rotation, so
    /// a recent-sign-in exemption cannot be renewed by refreshing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// `iat` in milliseconds: revocation by a password change is decided below the second.
    /// Django's tokens lack it and are judged by `iat` alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
    /// The sign-in session the token belongs to (`device_session`); Django ignores it, and its
    /// own tokens, without one, belong to no listed session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    /// The user id as a number; `None` when a token carries an id this service never issues.
    pub fn user_id(&self) -> Option<i64> {
        self.user_id.parse().ok()
    }

    /// `exp` as an instant, as the outstanding-token and session tables store it.
    pub fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.exp, 0).unwrap_or_else(chrono::Utc::now)
    }
}

/// A freshly issued access + refresh pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    pub refresh_claims: Claims,
}

/// Signs and verifies tokens with the configured key.
#[derive(Clone)]
pub struct TokenService {
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    access_ttl: i64,
    refresh_ttl: i64,
}

impl TokenService {
    pub fn new(config: &Config) -> Self {
        let key = config.jwt_signing_key.expose_secret().as_bytes();
        Self {
            decoding_key: DecodingKey::from_secret(key),
            encoding_key: EncodingKey::from_secret(key),
            access_ttl: i64::try_from(config.jwt_access_ttl).unwrap_or(i64::MAX / 2),
            refresh_ttl: i64::try_from(config.jwt_refresh_ttl).unwrap_or(i64::MAX / 2),
        }
    }

    /// Issues a refresh token and its access token, like `RefreshToken.for_user(user)`, for the
    /// sign-in session `sid`.
    pub fn issue_pair(&self, user_id: i64, login_method: LoginMethod, sid: String) -> AppResult<TokenPair> {
        let (now, now_ms) = now();
        self.pair_from(Claims {
            token_type: "refresh".into(),
            exp: now + self.refresh_ttl,
            iat: now,
            jti: new_jti(),
            user_id: user_id.to_string(),
            login_method: Some(login_method),
            auth_time: Some(now),
            iat_ms: Some(now_ms),
            sid: Some(sid),
        })
    }

    /// The next refresh token of a rotation: same user and login method, new id and lifetime.
    pub fn rotate(&self, refresh: &Claims) -> AppResult<TokenPair> {
        let (now, now_ms) = now();
        self.pair_from(Claims {
            exp: now + self.refresh_ttl,
            iat: now,
            iat_ms: Some(now_ms),
            jti: new_jti(),
            ..refresh.clone()
        })
    }

    /// A new access token for an existing refresh token, like `refresh.access_token`.
    pub fn access_for(&self, refresh: &Claims) -> AppResult<String> {
        let (now, now_ms) = now();
        self.sign(&Claims {
            token_type: "access".into(),
            exp: now + self.access_ttl,
            iat: now,
            iat_ms: Some(now_ms),
            jti: new_jti(),
            ..refresh.clone()
        })
    }

    fn pair_from(&self, refresh_claims: Claims) -> AppResult<TokenPair> {
        Ok(TokenPair {
            access: self.access_for(&refresh_claims)?,
            refresh: self.sign(&refresh_claims)?,
            refresh_claims,
        })
    }

    fn sign(&self, claims: &Claims) -> AppResult<String> {
        let payload = serde_json::to_vec(claims).map_err(anyhow::Error::from)?;
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER_JSON), URL_SAFE_NO_PAD.encode(payload));
        let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding_key, Algorithm::HS256)
            .map_err(|error| anyhow::anyhow!("signing a token failed: {error}"))?;
        Ok(format!("{signing_input}.{signature}"))
    }

    /// Verifies signature, algorithm, expiry and (unless `kind` is `Any`) `token_type`.
    pub fn verify(&self, token: &str, kind: TokenKind) -> AppResult<Claims> {
        let refuse = |problem| AppError::InvalidToken { problem, kind };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding_key, &validation).map_err(|error| {
                match error.kind() {
                    ErrorKind::ExpiredSignature => refuse(TokenProblem::Expired),
                    _ => refuse(TokenProblem::Invalid),
                }
            })?;
        let type_matches = match kind {
            TokenKind::Access => data.claims.token_type == "access",
            TokenKind::Refresh => data.claims.token_type == "refresh",
            TokenKind::Any => true,
        };
        if !type_matches || data.claims.user_id().is_none() {
            return Err(refuse(TokenProblem::Invalid));
        }
        Ok(data.claims)
    }
}

/// The current time in seconds (for `iat`) and in milliseconds (for `iat_ms`), from one reading.
fn now() -> (i64, i64) {
    let now = chrono::Utc::now();
    (now.timestamp(), now.timestamp_millis())
}

/// simplejwt's `jti`: a UUID4 as 32 hex digits.
fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Older simplejwt versions wrote `user_id` as a number; 5.5 writes a string. Accept both.
fn user_id_from_string_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    })
}
