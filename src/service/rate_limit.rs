//! Abuse brakes counted in the shared store, so every instance enforces one limit.

use std::{net::IpAddr, time::Duration};

use crate::{
    error::{AppError, AppResult},
    service::AppState,
};

/// A fixed-window limit: at most `max` hits per `window` for one key.
pub(crate) struct Limit {
    pub(crate) name: &'static str,
    pub(crate) code: &'static str,
    pub(crate) message: &'static str,
    pub(crate) max: u32,
    pub(crate) window: Duration,
}

impl Limit {
    pub(crate) fn store_key(&self, key: &str) -> String {
        format!("limit:{}:{key}", self.name)
    }

    /// Counts a hit; refuses it (and does not keep it) once the window is full.
    pub(crate) async fn hit(&self, state: &AppState, key: &str) -> AppResult<()> {
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

    /// Counts a hit for a client: an IPv4 address, or an IPv6 /64 (what one home line or
    /// server gets) plus, `RATE_LIMIT_IPV6_48_FACTOR` times larger, the /48 around it.
    pub(crate) async fn hit_client(&self, state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
        let Some(ip) = client_ip else { return Ok(()) };
        let (client, site) = client_keys(ip);
        self.hit(state, &client).await?;
        let Some(site) = site else { return Ok(()) };
        let aggregate =
            Limit { max: self.max.saturating_mul(state.config.limits.ipv6_48_factor), name: self.name, ..*self };
        let site_key = format!("site:{site}");
        if let Err(refused) = aggregate.hit(state, &site_key).await {
            // The /48 refused the request, so the /64 must not count it either.
            state.store.decrement_window(&self.store_key(&client)).await?;
            return Err(refused);
        }
        Ok(())
    }
}

/// The per-client key (IPv4 address or IPv6 /64) and, for IPv6, the /48 it belongs to.
/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
fn client_keys(ip: IpAddr) -> (String, Option<String>) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => (v4.to_string(), None),
        IpAddr::V6(v6) => {
            let prefix = |len: u8| {
                ipnet::Ipv6Net::new(v6, len).map(|net| net.trunc().to_string()).unwrap_or_else(|_| v6.to_string())
            };
            (prefix(64), Some(prefix(48)))
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// send-otp per client per hour.
pub async fn check_otp_request_from(state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
    Limit {
        name: "otp_per_ip",
        code: "throttled",
        message: "Too many code requests from your network. Try again later.",
        max: state.config.limits.otp_per_ip_per_hour,
        window: HOUR,
    }
    .hit_client(state, client_ip)
    .await
}

/// check-user and loginCheck per client per minute (each GraphQL alias is one), so the set of
/// registered numbers cannot be walked.
pub async fn check_lookup_from(state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
    Limit {
        name: "lookup_per_ip",
        code: "throttled",
        message: "Too many look-ups from your network. Try again later.",
        max: state.config.limits.lookup_per_ip_per_minute,
        window: MINUTE,
    }
    .hit_client(state, client_ip)
    .await
}

/// login, verify-otp and every other password or code check per client per minute.
pub async fn check_auth_attempt_from(state: &AppState, client_ip: Option<IpAddr>) -> AppResult<()> {
    Limit {
        name: "auth_per_ip",
        code: "throttled",
        message: "Too many attempts from your network. Try again later.",
        max: state.config.limits.auth_per_ip_per_minute,
        window: MINUTE,
    }
    .hit_client(state, client_ip)
    .await
}

/// Requests that hash a new password (change-password, set-password, reset, register) per
/// account per hour, on top of the per-client `check_auth_attempt_from`: one account cannot keep
/// the hashing threads busy from many addresses. `account` is `user:<id>`, or `phone:<E.164>`
/// before the account exists.
pub async fn check_password_change_for(state: &AppState, account: &str) -> AppResult<()> {
    Limit {
        name: "password_per_account",
        code: "throttled",
        message: "Too many password attempts for this account. Try again later.",
        max: state.config.limits.password_per_account_per_hour,
        window: HOUR,
    }
    .hit(state, account)
    .await
}

fn login_failures_key(phone: &str) -> String {
    format!("login_failures:{phone}")
}

/// Reserves one password check against the failure lock of the account with this phone (E.164):
/// a login, or the old password of change- or set-password. The count goes up before any hashing,
/// in one atomic step, so parallel guesses cannot all pass a check made before their failures are
/// recorded: at most `RATE_LIMIT_LOGIN_FAILURES` are evaluated per lock window. Beyond that the
/// check is refused and not counted. Unknown phones lock alike (no account enumeration).
pub async fn reserve_password_check(state: &AppState, phone: &str) -> AppResult<PasswordCheck> {
    let key = login_failures_key(phone);
    let window = Duration::from_secs(state.config.limits.login_lock_secs);
    let (count, left) = state.store.increment_window(&key, window).await?;
    if count <= u64::from(state.config.limits.login_failures) {
        return Ok(PasswordCheck { key });
    }
    state.store.decrement_window(&key).await?;
    metrics::counter!("rate_limited_total", "limit" => "login_failures").increment(1);
    Err(AppError::RateLimited {
        code: "too_many_login_attempts",
        message: "Too many failed logins for this account. Try again later or log in with a code.",
        retry_after_secs: ceil_secs(left),
    })
}

/// A reserved place in an account's failure lock. Until the password is known to be right it
/// counts as a failure, so a request dropped mid-check stays counted.
#[derive(Debug)]
#[must_use = "a reserved check ends as failed, succeeded or released"]
pub struct PasswordCheck {
    key: String,
}

impl PasswordCheck {
    /// The password was wrong: the reservation stays as the recorded failure.
    pub fn failed(self) {}

    /// The password was right: the account's failures are forgotten.
    pub async fn succeeded(self, state: &AppState) -> AppResult<()> {
        state.store.remove(&self.key).await
    }

    /// No password was checked (refused or failed before the hash ran): the place is given back,
    /// so a busy server does not lock out the users it turned away.
    pub async fn released(self, state: &AppState) {
        if let Err(error) = state.store.decrement_window(&self.key).await {
            tracing::warn!(%error, "could not give back a reserved password check");
        }
    }
}

/// `Retry-After` is whole seconds, rounded up so a client never retries too early.
pub fn ceil_secs(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000).max(1).try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_48() {
        let (client, site) = client_keys("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(client, "2001:db8:1:2::/64");
        assert_eq!(site.as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(client_keys("2001:db8:1:2:ffff::9".parse().unwrap()).0, client);
    }

    #[test]
    fn ipv4_mapped_addresses_are_plain_ipv4() {
        assert_eq!(client_keys("::ffff:198.51.100.7".parse().unwrap()), ("198.51.100.7".into(), None));
        assert_eq!(client_keys("198.51.100.7".parse().unwrap()), ("198.51.100.7".into(), None));
    }
}
