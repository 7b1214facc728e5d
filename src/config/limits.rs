//! Abuse brakes: per-client, per-account and deployment-wide limits.

use anyhow::bail;

use super::{parse, variables::RawConfig};

/// Abuse brakes beyond the per-phone OTP rules; every one is counted in the shared store.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// send-otp requests per client IP per hour.
    pub otp_per_ip_per_hour: u32,
    /// Registration SMS the whole deployment may send per hour (SMS pumping budget).
    pub sms_per_hour: u32,
    /// Failed password logins per account before it is locked for `login_lock_secs`.
    pub login_failures: u32,
    pub login_lock_secs: u64,
    /// login, verify-otp and every other hashing request per client per minute.
    pub auth_per_ip_per_minute: u32,
    /// check-user and loginCheck per client per minute, each GraphQL alias counted.
    pub lookup_per_ip_per_minute: u32,
    /// An IPv6 /48 may do this many times each per-client (/64) limit.
    pub ipv6_48_factor: u32,
    /// SMS per hour for codes to existing accounts (login, forgot_password), kept apart from
    /// `sms_per_hour`, which registration codes spend.
    pub sms_accounts_per_hour: u32,
    /// Registration SMS per hour into one number block (the first `sms_prefix_digits` national digits).
    pub sms_per_prefix_per_hour: u32,
    pub sms_prefix_digits: usize,
    /// Password-hashing requests (change, set, reset, register) per account per hour.
    pub password_per_account_per_hour: u32,
}

pub(super) fn build(raw: &RawConfig) -> anyhow::Result<RateLimits> {
    // NIST SP 800-63B: an account may be locked after at most 100 failed attempts.
    if !(1..=100).contains(&raw.rate_limit_login_failures) {
        bail!("RATE_LIMIT_LOGIN_FAILURES must be between 1 and 100");
    }
    if !(1..=12).contains(&raw.rate_limit_sms_prefix_digits) {
        bail!("RATE_LIMIT_SMS_PREFIX_DIGITS must be between 1 and 12");
    }
    Ok(RateLimits {
        otp_per_ip_per_hour: raw.rate_limit_otp_per_ip_per_hour,
        sms_per_hour: raw.rate_limit_sms_per_hour,
        login_failures: raw.rate_limit_login_failures,
        login_lock_secs: raw.rate_limit_login_lock_secs,
        auth_per_ip_per_minute: raw.rate_limit_auth_per_ip_per_minute,
        lookup_per_ip_per_minute: raw.rate_limit_lookup_per_ip_per_minute,
        ipv6_48_factor: parse::at_least_one("RATE_LIMIT_IPV6_48_FACTOR", raw.rate_limit_ipv6_48_factor)?,
        sms_accounts_per_hour: raw.rate_limit_sms_accounts_per_hour,
        sms_per_prefix_per_hour: raw.rate_limit_sms_per_prefix_per_hour,
        sms_prefix_digits: raw.rate_limit_sms_prefix_digits,
        password_per_account_per_hour: raw.rate_limit_password_per_account_per_hour,
    })
}
