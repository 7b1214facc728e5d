//! Code delivery: the SMS backend, Eskiz's account, and reCAPTCHA in front of send-otp.

use anyhow::bail;
use secrecy::SecretString;

use super::{parse, variables::RawConfig};

/// Where one-time codes are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsBackendKind {
    /// Print the message to the log (development).
    Console,
    /// Append one JSON line per message to `SMS_OUTBOX`.
    File,
    /// Send through the Eskiz API.
    Eskiz,
}

/// Eskiz account and sender.
#[derive(Debug, Clone)]
pub struct EskizConfig {
    pub email: String,
    pub password: SecretString,
    pub from: String,
    pub base_url: String,
}

/// reCAPTCHA verification settings.
#[derive(Debug, Clone)]
pub struct RecaptchaConfig {
    pub private_key: SecretString,
    pub public_key: Option<String>,
    pub verify_url: String,
    /// v3 scores below this are refused (v2 answers carry no score and pass on `success`).
    pub min_score: f64,
}

/// The delivery settings of one configuration.
pub(super) struct Delivery {
    pub backend: SmsBackendKind,
    pub eskiz: Option<EskizConfig>,
    pub recaptcha: Option<RecaptchaConfig>,
}

pub(super) fn build(raw: &RawConfig, production: bool) -> anyhow::Result<Delivery> {
    let backend = match raw.sms_backend.as_deref() {
        None if production => bail!("SMS_BACKEND must be set when DEBUG=false (console and file deliver no SMS)"),
        None => SmsBackendKind::Console,
        Some(value) => parse::choice(
            "SMS_BACKEND",
            value,
            &[("console", SmsBackendKind::Console), ("file", SmsBackendKind::File), ("eskiz", SmsBackendKind::Eskiz)],
        )?,
    };
    let eskiz = match (&raw.eskiz_email, &raw.eskiz_password) {
        (Some(email), Some(password)) => Some(EskizConfig {
            email: email.clone(),
            password: password.clone(),
            from: raw.eskiz_from.clone(),
            base_url: raw.eskiz_base_url.clone(),
        }),
        _ => None,
    };
    if backend == SmsBackendKind::Eskiz && eskiz.is_none() {
        bail!("SMS_BACKEND=eskiz needs ESKIZ_EMAIL and ESKIZ_PASSWORD");
    }
    if !(0.0..=1.0).contains(&raw.recaptcha_min_score) {
        bail!("RECAPTCHA_MIN_SCORE must be between 0.0 and 1.0");
    }
    let recaptcha = raw.recaptcha_private_key.clone().map(|private_key| RecaptchaConfig {
        private_key,
        public_key: raw.recaptcha_public_key.clone(),
        verify_url: raw.recaptcha_verify_url.clone(),
        min_score: raw.recaptcha_min_score,
    });
    Ok(Delivery { backend, eskiz, recaptcha })
}
