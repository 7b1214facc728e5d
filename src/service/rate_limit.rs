//! Abuse brakes counted in the shared store, so every instance enforces one limit.

use std::{net::IpAddr, time::Duration};

use crate::{
    domain::PhoneNumber,
    error::{AppError, AppResult},
    service::otp::ceil_secs,
    state::AppState,
};

/// A fixed-window limit: at most `max` hits per `window` for one key.
struct Limit {
    name: &'static str,
    code: &'static str,
    message: &'static str,
    max: u32,
    window: Duration,
}

impl Limit {
    fn store_key(&self, key: &str) -> String {
        format!("limit:{}:{key}", self.name)
    }

    /// Counts a hit; refuses it (and does not keep it) once the window is full.
    async fn hit(&self, state: &AppState, key: &str) -> AppResult<()> {
        let store_key = self.store_key(key);
        let (count, left) = state.store.increment_window(&store_key, self.window).await?;
        if count <= u64::from(self.max) {
            return Ok(());
        }
        // Refused hits do not count, so a client that waits out `Retry-After` gets through.
        state.store.decrement_window(&store_key).await?;
        metrics::counter!("rate_limited_total", "limit" => self.name).increment(1);
        Err(AppError::RateLimited { code: self.code, message: self.message, retry_after_secs: ceil_secs(left) })
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// send-otp per client IP per hour.
pub async fn check_otp_request_from(state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
    let Some(ip) = client_ip else { return Ok(()) };
    Limit {
        name: "otp_per_ip",
        code: "throttled",
        message: "Too many code requests from your network. Try again later.",
        max: state.config.limits.otp_per_ip_per_hour,
        window: HOUR,
    }
    .hit(state, &ip.to_string())
    .await
}

/// The deployment-wide SMS budget per hour, against SMS pumping.
pub async fn take_sms_budget(state: &AppState) -> AppResult<()> {
    sms_budget(state).hit(state, SMS_BUDGET_KEY).await
}

/// Gives back one unit of the SMS budget (the message was not sent).
pub async fn return_sms_budget(state: &AppState) {
    let key = sms_budget(state).store_key(SMS_BUDGET_KEY);
    if let Err(error) = state.store.decrement_window(&key).await {
        tracing::warn!(%error, "could not give back the SMS budget after a failed send");
    }
}

/// The whole deployment shares one budget key.
const SMS_BUDGET_KEY: &str = "all";

fn sms_budget(state: &AppState) -> Limit {
    Limit {
        name: "sms_global",
        code: "sms_budget_exhausted",
        message: "SMS sending is paused for a while. Try again later.",
        max: state.config.limits.sms_per_hour,
        window: HOUR,
    }
}

/// login and verify-otp per client IP per minute (guessing from one network).
pub async fn check_auth_attempt_from(state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
    let Some(ip) = client_ip else { return Ok(()) };
    Limit {
        name: "auth_per_ip",
        code: "throttled",
        message: "Too many attempts from your network. Try again later.",
        max: state.config.limits.auth_per_ip_per_minute,
        window: MINUTE,
    }
    .hit(state, &ip.to_string())
    .await
}

fn login_failures_key(phone: &PhoneNumber) -> String {
    format!("login_failures:{}", phone.as_str())
}

/// Refuses a password login while the account is locked by earlier failures. Checked before
/// any hashing, for existing and unknown phones alike (no account enumeration). Answers how many
/// failures are on record, so a successful login clears them only when there are some.
pub async fn ensure_login_not_locked(state: &AppState, phone: &PhoneNumber) -> AppResult<RecordedFailures> {
    let Some((failures, left)) = state.store.read_window(&login_failures_key(phone)).await? else {
        return Ok(RecordedFailures(0));
    };
    if failures >= u64::from(state.config.limits.login_failures) {
        metrics::counter!("rate_limited_total", "limit" => "login_failures").increment(1);
        return Err(AppError::RateLimited {
            code: "too_many_login_attempts",
            message: "Too many failed logins for this account. Try again later or log in with a code.",
            retry_after_secs: ceil_secs(left),
        });
    }
    Ok(RecordedFailures(failures))
}

/// Failed password logins of one account within the lock window, as read before a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedFailures(pub u64);

/// Counts a failed password login against the account.
pub async fn record_login_failure(state: &AppState, phone: &PhoneNumber) -> AppResult<()> {
    let window = Duration::from_secs(state.config.limits.login_lock_secs);
    state.store.increment_window(&login_failures_key(phone), window).await?;
    Ok(())
}

/// A successful login clears the failures read before it. With none on record the store is
/// left alone: most logins have none, and this saves them a round trip.
pub async fn clear_login_failures(state: &AppState, phone: &PhoneNumber, before: RecordedFailures) -> AppResult<()> {
    if before.0 == 0 {
        return Ok(());
    }
    state.store.remove(&login_failures_key(phone)).await
}
