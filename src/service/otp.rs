//! One-time codes: send, verify, and the single consumption of a verified session.

use secrecy::ExposeSecret;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use subtle::ConstantTimeEq;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{Language, MobileNumber, OtpType, PhoneNumber},
    error::{AppError, AppResult, FieldError, Rule},
    request::Credentials,
    request::{Field, named},
    service::{AppState, Client, accounts, caller::caller_from, captcha, rate_limit, sms_budget, validate::Validator},
    sms::OtpMessage,
    store::{Attempt, AttemptOutcome, OtpSession, SessionState},
};

/// Body of `send-otp/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SendOtpRequest)]
pub struct SendOtpInput {
    #[schema(value_type = OtpType, required)]
    #[serde(default)]
    pub r#type: Field<OtpType>,
    /// Any usual spelling (`998901234567`, `+998 90 123-45-67`); answers echo it in E.164.
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    /// Required when the server checks reCAPTCHA (`RECAPTCHA_PRIVATE_KEY` is set).
    #[schema(value_type = String)]
    #[serde(default)]
    pub recaptcha_token: Field<String>,
}

/// A code was sent; `session` identifies it in verify-otp.
#[derive(Debug, Clone)]
pub struct SentOtp {
    pub otp_type: OtpType,
    pub phone_number: PhoneNumber,
    pub session: String,
}

/// Body of `verify-otp/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = VerifyOtpRequest)]
pub struct VerifyOtpInput {
    #[schema(value_type = OtpType, required)]
    #[serde(default)]
    pub r#type: Field<OtpType>,
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    /// The session `send-otp/` returned.
    #[schema(value_type = String, required, format = "uuid", example = "0b7e3c1e-5d0f-4c55-9a43-6f1c2a9e8b10")]
    #[serde(default)]
    pub session: Field<String>,
    #[schema(value_type = String, required, pattern = "^[0-9]{6}$", example = "482913")]
    #[serde(default)]
    pub otp_code: Field<String>,
}

/// The session is verified and can be consumed once.
#[derive(Debug, Clone)]
pub struct VerifiedOtp {
    pub otp_type: OtpType,
    pub phone_number: PhoneNumber,
    pub session: String,
    pub otp_code: String,
}

const HOUR: Duration = Duration::from_secs(3600);

/// Sends a code for `type` to `phone_number`, enforcing the account rule, cooldown, hourly cap
/// and SMS budgets. `change_phone` and `delete_account` codes are for a signed-in caller, whose
/// bearer `credentials` are judged only for those.
pub async fn send_otp(
    state: &AppState,
    client: &Client,
    credentials: Option<&Credentials>,
    input: SendOtpInput,
) -> AppResult<SentOtp> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let otp_type = validator.choice(named!(input.r#type));
    let phone = validator.phone(named!(input.phone_number));
    let captcha_token = validator.optional_text(named!(input.recaptcha_token));
    let otp = &state.config.otp;
    // Refused before any store write: an SMS to a foreign, premium or fixed line is what SMS
    // pumping sells. Review numbers receive nothing, so any number the operator lists will do.
    let delivery = phone.as_ref().and_then(|phone| match otp.test_numbers.get(phone.as_str()) {
        Some(code) => Some(Delivery::Review(code.clone())),
        None => match phone.as_mobile_of(&state.config.otp_allowed_regions) {
            Some(number) => Some(Delivery::Sms(number)),
            None => {
                validator.push(FieldError::new(
                    "phone_number",
                    "not_allowed",
                    "Codes can only be sent to mobile numbers of the supported countries.",
                ));
                None
            }
        },
    });
    let (Some(otp_type), Some(phone), Some(delivery)) = (otp_type, phone.as_ref(), delivery) else {
        return Err(validator.into_error());
    };
    // A malformed captcha token is reported with the rest, before any limit is spent.
    validator.finish()?;
    let caller = match otp_type {
        OtpType::ChangePhone | OtpType::DeleteAccount => Some(caller_from(state, credentials).await?),
        OtpType::Auth | OtpType::ForgotPassword | OtpType::Login => None,
    };
    if otp_type == OtpType::DeleteAccount
        && caller.as_ref().is_some_and(|caller| caller.user.phone_number != phone.as_str())
    {
        return Err(AppError::field(
            "phone_number",
            "not_own",
            "A code to delete the account goes to the account's own phone number.",
        ));
    }
    rate_limit::check_otp_request_from(state, client.ip).await?;
    captcha::verify_captcha(state, captcha_token.as_deref(), client.ip).await?;

    let existing = accounts::find_by_phone(state, phone).await?;
    match (otp_type, &existing) {
        (OtpType::Auth | OtpType::ChangePhone, Some(_)) => return Err(AppError::Rule(Rule::UserExists)),
        (OtpType::ForgotPassword | OtpType::Login, None) => return Err(AppError::Rule(Rule::UserNotFound)),
        // A disabled account can neither log in nor reset: an SMS would only cost money.
        (OtpType::ForgotPassword | OtpType::Login, Some(user)) if !user.is_active => {
            return Err(AppError::user_inactive());
        }
        _ => {}
    }
    let account = existing.as_ref().or(caller.as_ref().map(|caller| &caller.user));
    let language = account.and_then(|user| Language::from_wire(&user.language)).unwrap_or(Language::Uz);

    let brakes = take_send_brakes(state, otp_type, phone, &delivery).await?;

    let code = match &delivery {
        Delivery::Review(code) => code.clone(),
        Delivery::Sms(_) => generate_code(),
    };
    let session = uuid::Uuid::new_v4().hyphenated().to_string();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let record = OtpSession {
        phone_number: phone.as_str().to_string(),
        otp_type,
        code_mac: code_mac(state, &session, &code),
        attempts: 0,
        state: SessionState::Pending,
        expires_at_ms: now_ms + secs_to_ms(otp.ttl_secs),
        verified_until_ms: 0,
    };
    // Kept past the code's expiry so a late guess hears "expired" rather than "no such session".
    let keep_for = Duration::from_secs(otp.ttl_secs + otp.verified_ttl_secs);
    if let Err(error) = state.store.put_otp_session(&session, &record, keep_for).await {
        brakes.give_back(state).await;
        return Err(error);
    }

    if let Delivery::Sms(_) = delivery {
        let message = OtpMessage { phone_number: phone, code: &code, otp_type, language };
        if let Err(error) = state.sms.send(&message).await {
            // The user got nothing, so the send must not count against them.
            let _ = state.store.delete_otp_session(&session).await;
            brakes.give_back(state).await;
            return Err(error);
        }
    }
    tracing::info!(phone_number = %phone.masked(), otp_type = otp_type.as_str(), "OTP sent");
    metrics::counter!("otp_sent_total", "type" => otp_type.as_str()).increment(1);
    Ok(SentOtp { otp_type, phone_number: phone.clone(), session })
}

/// How the code reaches the phone.
enum Delivery<'a> {
    /// An app-store review number (`OTP_TEST_NUMBERS`): its fixed code, no SMS.
    Review(String),
    /// An SMS to a mobile line of an allowed region.
    Sms(MobileNumber<'a>),
}

/// The cooldown, hourly count and SMS budgets taken for one send, so a failed send can give
/// them back.
struct SendBrakes {
    /// `None` for review numbers: they have no cooldown, so a reviewer can ask again at once.
    cooldown_key: Option<String>,
    hourly_key: String,
    /// `None` for review numbers, which send nothing.
    sms: Option<sms_budget::SmsSpend>,
}

impl SendBrakes {
    /// Takes back the phone's hourly count and cooldown (a later brake refused the send).
    async fn release(&self, state: &AppState) -> AppResult<()> {
        state.store.decrement_window(&self.hourly_key).await?;
        match &self.cooldown_key {
            Some(key) => state.store.remove(key).await,
            None => Ok(()),
        }
    }

    /// Takes back everything a send that failed had spent.
    async fn give_back(&self, state: &AppState) {
        if let Some(sms) = &self.sms {
            sms.give_back(state).await;
        }
        if let Err(error) = self.release(state).await {
            tracing::warn!(%error, "could not give back the OTP cooldown and hourly count after a failed send");
        }
    }
}

/// The per-phone brakes, then the SMS budgets. Review numbers count against the same hourly cap
/// as every number: their code is fixed, so each session is five more guesses at it.
async fn take_send_brakes(
    state: &AppState,
    otp_type: OtpType,
    phone: &PhoneNumber,
    delivery: &Delivery<'_>,
) -> AppResult<SendBrakes> {
    let otp = &state.config.otp;
    let hourly_key = format!("otp_hourly:{}", phone.as_str());
    let mut cooldown_key = None;
    // A cooldown of 0 switches it off (load tests, staging).
    let cooldown = Duration::from_secs(otp.resend_cooldown_secs);
    if let Delivery::Sms(_) = delivery
        && !cooldown.is_zero()
    {
        let key = format!("otp_cooldown:{}:{}", otp_type.as_str(), phone.as_str());
        if let Some(left) = state.store.try_start_cooldown(&key, cooldown).await? {
            metrics::counter!("rate_limited_total", "limit" => "otp_resend_cooldown").increment(1);
            return Err(AppError::RateLimited {
                code: "otp_already_sent",
                message: "OTP Already sent",
                retry_after_secs: rate_limit::ceil_secs(left),
            });
        }
        cooldown_key = Some(key);
    }
    let mut brakes = SendBrakes { cooldown_key, hourly_key, sms: None };
    let (count, left) = match state.store.increment_window(&brakes.hourly_key, HOUR).await {
        Ok(counted) => counted,
        Err(error) => {
            if let Some(key) = &brakes.cooldown_key {
                let _ = state.store.remove(key).await;
            }
            return Err(error);
        }
    };
    if count > u64::from(otp.max_per_hour) {
        brakes.release(state).await?;
        metrics::counter!("rate_limited_total", "limit" => "otp_per_phone_hourly").increment(1);
        return Err(AppError::RateLimited {
            code: "otp_hourly_limit",
            message: "Too many codes requested for this phone number. Try again later.",
            retry_after_secs: rate_limit::ceil_secs(left),
        });
    }
    // Last, so a request refused above spends none of the deployment's budgets.
    if let Delivery::Sms(number) = delivery {
        match sms_budget::take(state, otp_type, number).await {
            Ok(spend) => brakes.sms = Some(spend),
            Err(error) => {
                brakes.release(state).await?;
                return Err(error);
            }
        }
    }
    Ok(brakes)
}

/// Checks a code against its session; each wrong guess counts, atomically, against the limit.
pub async fn verify_otp(state: &AppState, client: &Client, input: VerifyOtpInput) -> AppResult<VerifiedOtp> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let otp_type = validator.choice(named!(input.r#type));
    let phone = validator.phone(named!(input.phone_number));
    let session = validator.session(named!(input.session));
    let code = validator.otp_code(named!(input.otp_code));
    let (Some(otp_type), Some(phone), Some(session), Some(code)) = (otp_type, phone, session, code) else {
        return Err(validator.into_error());
    };
    rate_limit::check_auth_attempt_from(state, client.ip).await?;

    let Some(record) = state.store.get_otp_session(&session).await? else {
        return Err(AppError::Rule(Rule::SessionInvalid));
    };
    if record.phone_number != phone.as_str() || record.otp_type != otp_type {
        metrics::counter!("otp_failed_total", "reason" => "SESSION_INVALID").increment(1);
        return Err(AppError::Rule(Rule::SessionInvalid));
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    if record.state == SessionState::Pending && now_ms > record.expires_at_ms {
        metrics::counter!("otp_failed_total", "reason" => "OTP_EXPIRED").increment(1);
        return Err(AppError::Rule(Rule::OtpExpired));
    }
    let expected = hex::decode(&record.code_mac).unwrap_or_default();
    let given = hex::decode(code_mac(state, &session, &code)).unwrap_or_default();
    let correct: bool = expected.ct_eq(&given).into();

    let otp = &state.config.otp;
    let attempt = Attempt {
        correct,
        max_attempts: otp.max_attempts,
        verified_until_ms: now_ms + secs_to_ms(otp.verified_ttl_secs),
        keep_verified_for: Duration::from_secs(otp.verified_ttl_secs),
    };
    let outcome = state.store.record_otp_attempt(&session, attempt).await?;
    let result = match outcome {
        AttemptOutcome::Verified => Ok(VerifiedOtp { otp_type, phone_number: phone, session, otp_code: code }),
        AttemptOutcome::Wrong => Err(AppError::Rule(Rule::OtpInvalid)),
        AttemptOutcome::Exhausted => Err(AppError::Rule(Rule::OtpAttemptsExceeded)),
        AttemptOutcome::Missing => Err(AppError::Rule(Rule::SessionInvalid)),
    };
    match &result {
        Ok(_) => metrics::counter!("otp_verified_total", "type" => otp_type.as_str()).increment(1),
        Err(error) => {
            metrics::counter!("otp_failed_total", "reason" => error.graphql_code()).increment(1);
        }
    }
    result
}

/// Uses up a verified session for `phone` and `otp_type`; of two concurrent callers one wins.
pub async fn consume_verified_session(
    state: &AppState,
    session: &str,
    phone: &PhoneNumber,
    otp_type: OtpType,
) -> AppResult<()> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    if state.store.consume_verified_session(session, phone.as_str(), otp_type, now_ms).await? {
        Ok(())
    } else {
        Err(AppError::Rule(Rule::SessionInvalid))
    }
}

/// Six digits from the operating system's CSPRNG.
fn generate_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// The code is kept only as HMAC(key, session ‖ code): a store dump reveals no codes. The key is
/// derived from `SECRET_KEY` with HKDF for this one use, so it is not the key that signs JWTs.
fn code_mac(state: &AppState, session: &str, code: &str) -> String {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, state.config.secret_key.expose_secret().as_bytes())
        .expand(OTP_MAC_KEY_INFO, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    mac.update(session.as_bytes());
    mac.update(b":");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// HKDF's `info` for the OTP MAC key; a new purpose gets a new label, never this key.
const OTP_MAC_KEY_INFO: &[u8] = b"tantana otp code mac v1";

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Fails unless the session is verified for this phone and type (without consuming it).
pub async fn require_verified_session(
    state: &AppState,
    session: &str,
    phone: &PhoneNumber,
    otp_type: OtpType,
) -> AppResult<()> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    match state.store.get_otp_session(session).await? {
        Some(record)
            if record.state == SessionState::Verified
                && record.phone_number == phone.as_str()
                && record.otp_type == otp_type
                && record.verified_until_ms >= now_ms =>
        {
            Ok(())
        }
        _ => Err(AppError::Rule(Rule::SessionInvalid)),
    }
}
