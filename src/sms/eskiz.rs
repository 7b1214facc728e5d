//! The Eskiz SMS provider: log in for a token, cache it, log in again when it is refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use crate::config::EskizConfig;

/// Why a message did not go out (logged; the client hears a 503).
#[derive(Debug, thiserror::Error)]
pub enum EskizError {
    #[error("Eskiz did not answer: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("Eskiz refused the login ({0})")]
    Login(StatusCode),
    #[error("Eskiz refused the message ({status}): {body}")]
    Send { status: StatusCode, body: String },
}

/// A logged-in Eskiz client; the token is shared by all requests of the instance.
pub struct EskizClient {
    http: reqwest::Client,
    base_url: String,
    email: String,
    password: SecretString,
    from: String,
    token: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct LoginResponse {
    data: LoginData,
}

#[derive(Deserialize)]
struct LoginData {
    token: String,
}

impl EskizClient {
    pub fn new(config: &EskizConfig, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base_url: config.base_url.trim_end_matches('/').to_string(),
            email: config.email.clone(),
            password: config.password.clone(),
            from: config.from.clone(),
            token: Mutex::new(None),
        }
    }

    /// Sends one SMS; `phone_e164` is `+998…`, Eskiz wants the digits only.
    pub async fn send(&self, phone_e164: &str, text: &str) -> Result<(), EskizError> {
        let mut token = self.token.lock().await;
        let current = match token.as_ref() {
            Some(current) => current.clone(),
            None => token.insert(self.login().await?).clone(),
        };
        drop(token);
        let response = self.post_message(&current, phone_e164, text).await?;
        // Tokens expire after a month; the first refusal means "log in again", not "failed".
        let response = if response.status() == StatusCode::UNAUTHORIZED {
            let fresh = self.login().await?;
            *self.token.lock().await = Some(fresh.clone());
            self.post_message(&fresh, phone_e164, text).await?
        } else {
            response
        };
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default().chars().take(200).collect();
            Err(EskizError::Send { status, body })
        }
    }

    async fn login(&self) -> Result<String, EskizError> {
        let response = self
            .http
            .post(format!("{}/auth/login", self.base_url))
            .form(&[("email", self.email.as_str()), ("password", self.password.expose_secret())])
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(EskizError::Login(response.status()));
        }
        Ok(response.json::<LoginResponse>().await?.data.token)
    }

    async fn post_message(&self, token: &str, phone_e164: &str, text: &str) -> Result<reqwest::Response, EskizError> {
        let mobile_phone = phone_e164.trim_start_matches('+');
        Ok(self
            .http
            .post(format!("{}/message/sms/send", self.base_url))
            .bearer_auth(token)
            .form(&[("mobile_phone", mobile_phone), ("message", text), ("from", self.from.as_str())])
            .send()
            .await?)
    }
}
