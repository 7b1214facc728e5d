//! reCAPTCHA on send-otp: a bot that cannot pass it cannot make us send SMS.

use secrecy::ExposeSecret;
use std::net::IpAddr;

use serde::Deserialize;

use crate::{
    error::{AppError, AppResult, FieldError},
    service::AppState,
};

#[derive(Deserialize)]
struct VerifyResponse {
    success: bool,
    /// v3 only.
    score: Option<f64>,
}

/// Checks the token when captcha is configured; a no-op otherwise.
pub async fn verify_captcha(state: &AppState, token: Option<&str>, client_ip: Option<IpAddr>) -> AppResult<()> {
    let Some(recaptcha) = &state.config.recaptcha else { return Ok(()) };
    let Some(token) = token.map(str::trim).filter(|token| !token.is_empty()) else {
        return Err(AppError::Validation(vec![FieldError::required("recaptcha_token")]));
    };
    let remote_ip = client_ip.map(|ip| ip.to_string()).unwrap_or_default();
    let response = state
        .http
        .post(&recaptcha.verify_url)
        .form(&[
            ("secret", recaptcha.private_key.expose_secret()),
            ("response", token),
            ("remoteip", remote_ip.as_str()),
        ])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    let answer = match response {
        Ok(response) => response.json::<VerifyResponse>().await,
        Err(error) => Err(error),
    };
    let answer = answer.map_err(|error| {
        tracing::error!(%error, "reCAPTCHA verification did not answer");
        AppError::ServiceUnavailable { service: "captcha service", code: "captcha_unavailable" }
    })?;
    let passed = answer.success && answer.score.is_none_or(|score| score >= recaptcha.min_score);
    if passed {
        Ok(())
    } else {
        metrics::counter!("rate_limited_total", "limit" => "captcha").increment(1);
        Err(AppError::Validation(vec![FieldError::new(
            "recaptcha_token",
            "invalid",
            "The captcha was not passed. Try again.",
        )]))
    }
}
