//! Delivery of one-time codes: `console` logs them, `file` appends JSON lines to an outbox.

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
    /// The text the user reads, in their language.
    pub fn text(&self) -> String {
        let code = self.code;
        match self.language {
            Language::Uz => format!("Tantana: tasdiqlash kodingiz {code}. Kodni hech kimga bermang."),
            Language::Ru => format!("Tantana: ваш код подтверждения {code}. Никому его не сообщайте."),
            Language::En => format!("Tantana: your verification code is {code}. Do not share it."),
        }
    }
}

/// The configured SMS backend.
#[derive(Clone)]
pub enum SmsSender {
    Console,
    File(Arc<FileOutbox>),
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
        match config.sms_backend {
            SmsBackendKind::Console => SmsSender::Console,
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
            AppError::ServiceUnavailable { service: "SMS service", code: "sms_unavailable" }
        })
    }
}
