//! Delivery of one-time codes: `console` logs them, `file` appends JSON lines to an outbox,
//! `eskiz` sends real SMS.

mod eskiz;

pub use eskiz::EskizClient;

use std::{path::PathBuf, sync::Arc};

use serde::Serialize;
use tokio::{io::AsyncWriteExt, sync::Mutex};

use crate::{
    config::{Config, SmsBackendKind},
    domain::{Language, OtpType, PhoneNumber},
    error::{AppError, AppResult},
};

/// One SMS carrying a one-time code.
#[derive(Debug, Clone)]
pub struct OtpMessage<'a> {
    pub phone_number: &'a PhoneNumber,
    pub code: &'a str,
    pub otp_type: OtpType,
    pub language: Language,
}

impl OtpMessage<'_> {
    /// The text the user reads: what the code is for, in their language.
    pub fn text(&self) -> String {
        let code = self.code;
        match (self.language, self.otp_type) {
            (Language::Uz, OtpType::Auth) => {
                format!("Tantana: ro'yxatdan o'tish kodingiz {code}. Kodni hech kimga bermang.")
            }
            (Language::Uz, OtpType::Login) => format!("Tantana: kirish kodingiz {code}. Kodni hech kimga bermang."),
            (Language::Uz, OtpType::ForgotPassword) => {
                format!("Tantana: parolni tiklash kodingiz {code}. Kodni hech kimga bermang.")
            }
            (Language::Uz, OtpType::ChangePhone) => {
                format!("Tantana: telefon raqamini o'zgartirish kodingiz {code}. Kodni hech kimga bermang.")
            }
            (Language::Uz, OtpType::DeleteAccount) => {
                format!("Tantana: hisobni o'chirish kodingiz {code}. Kodni hech kimga bermang.")
            }
            (Language::Ru, OtpType::Auth) => format!("Tantana: код для регистрации {code}. Никому его не сообщайте."),
            (Language::Ru, OtpType::Login) => format!("Tantana: код для входа {code}. Никому его не сообщайте."),
            (Language::Ru, OtpType::ForgotPassword) => {
                format!("Tantana: код для сброса пароля {code}. Никому его не сообщайте.")
            }
            (Language::Ru, OtpType::ChangePhone) => {
                format!("Tantana: код для смены номера телефона {code}. Никому его не сообщайте.")
            }
            (Language::Ru, OtpType::DeleteAccount) => {
                format!("Tantana: код для удаления аккаунта {code}. Никому его не сообщайте.")
            }
            (Language::En, OtpType::Auth) => format!("Tantana: your registration code is {code}. Do not share it."),
            (Language::En, OtpType::Login) => format!("Tantana: your login code is {code}. Do not share it."),
            (Language::En, OtpType::ForgotPassword) => {
                format!("Tantana: your password reset code is {code}. Do not share it.")
            }
            (Language::En, OtpType::ChangePhone) => {
                format!("Tantana: your code to change your phone number is {code}. Do not share it.")
            }
            (Language::En, OtpType::DeleteAccount) => {
                format!("Tantana: your code to delete your account is {code}. Do not share it.")
            }
        }
    }
}

/// The configured SMS backend.
#[derive(Clone)]
pub enum SmsSender {
    Console,
    File(Arc<FileOutbox>),
    Eskiz(Arc<EskizClient>),
}

/// Appends messages to a JSON-lines file; the mutex keeps concurrent lines whole.
pub struct FileOutbox {
    path: PathBuf,
    lock: Mutex<()>,
}

#[derive(Serialize)]
struct OutboxLine<'a> {
    phone_number: &'a str,
    message: &'a str,
    code: &'a str,
    #[serde(rename = "type")]
    otp_type: &'a str,
    sent_at: String,
}

impl SmsSender {
    pub fn from_config(config: &Config) -> Self {
        if let (SmsBackendKind::Eskiz, Some(eskiz)) = (config.sms_backend, &config.eskiz) {
            let timeout = std::time::Duration::from_secs(config.sms_timeout_secs);
            return SmsSender::Eskiz(Arc::new(EskizClient::new(eskiz, timeout)));
        }
        match config.sms_backend {
            // Config validation guarantees Eskiz settings; without them, say so on the console.
            SmsBackendKind::Console | SmsBackendKind::Eskiz => SmsSender::Console,
            SmsBackendKind::File => {
                SmsSender::File(Arc::new(FileOutbox { path: config.sms_outbox.clone(), lock: Mutex::new(()) }))
            }
        }
    }

    /// Delivers the message; a failure is a 503 and the caller gives the send back.
    pub async fn send(&self, message: &OtpMessage<'_>) -> AppResult<()> {
        match self {
            SmsSender::Console => {
                // The console backend exists to show the code to a developer; no other log line does.
                tracing::info!(
                    phone_number = %message.phone_number.masked(),
                    otp_type = message.otp_type.as_str(),
                    code = message.code,
                    "console SMS: {}",
                    message.text()
                );
                Ok(())
            }
            SmsSender::File(outbox) => outbox.append(message).await,
            SmsSender::Eskiz(client) => {
                client.send(message.phone_number.as_str(), &message.text()).await.map_err(|error| {
                    tracing::error!(%error, phone_number = %message.phone_number.masked(), "Eskiz SMS failed");
                    metrics::counter!("sms_provider_errors_total", "backend" => "eskiz").increment(1);
                    sms_unavailable()
                })
            }
        }
    }
}

impl FileOutbox {
    async fn append(&self, message: &OtpMessage<'_>) -> AppResult<()> {
        let text = message.text();
        let line = OutboxLine {
            phone_number: message.phone_number.as_str(),
            message: &text,
            code: message.code,
            otp_type: message.otp_type.as_str(),
            sent_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(anyhow::Error::from)?;
        bytes.push(b'\n');
        let _guard = self.lock.lock().await;
        let result = async {
            let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await?;
            file.write_all(&bytes).await?;
            file.flush().await
        }
        .await;
        result.map_err(|error| {
            tracing::error!(%error, path = %self.path.display(), "SMS outbox write failed");
            metrics::counter!("sms_provider_errors_total", "backend" => "file").increment(1);
            sms_unavailable()
        })
    }
}

fn sms_unavailable() -> AppError {
    AppError::ServiceUnavailable { service: "SMS service", code: "sms_unavailable" }
}
