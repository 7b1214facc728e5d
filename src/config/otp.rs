//! One-time-code rules: lifetimes, attempts, cooldowns, review numbers and allowed regions.

use std::collections::HashMap;

use anyhow::{Context, bail};

use super::{parse, variables::RawConfig};

/// One-time-code rules (contract §1, OTP).
#[derive(Debug, Clone)]
pub struct OtpConfig {
    pub ttl_secs: u64,
    pub verified_ttl_secs: u64,
    pub max_attempts: u32,
    pub resend_cooldown_secs: u64,
    pub max_per_hour: u32,
    /// E.164 number → fixed code, for app-store review accounts.
    pub test_numbers: HashMap<String, String>,
}

pub(super) fn default_region(raw: &RawConfig) -> anyhow::Result<phonenumber::country::Id> {
    raw.phone_default_region.to_ascii_uppercase().parse().map_err(|_| {
        anyhow::anyhow!("PHONE_DEFAULT_REGION must be a two-letter region code, got {:?}", raw.phone_default_region)
    })
}

pub(super) fn build(raw: &RawConfig, region: phonenumber::country::Id) -> anyhow::Result<OtpConfig> {
    parse::seconds("JWT_ACCESS_TTL", raw.jwt_access_ttl)?;
    parse::seconds("JWT_REFRESH_TTL", raw.jwt_refresh_ttl)?;
    Ok(OtpConfig {
        ttl_secs: parse::seconds("OTP_TTL", raw.otp_ttl)?,
        verified_ttl_secs: parse::seconds("OTP_VERIFIED_TTL", raw.otp_verified_ttl)?,
        max_attempts: parse::at_least_one("OTP_MAX_ATTEMPTS", raw.otp_max_attempts)?,
        resend_cooldown_secs: raw.otp_resend_cooldown,
        max_per_hour: raw.otp_max_per_hour,
        test_numbers: parse_test_numbers(&raw.otp_test_numbers, region)?,
    })
}

pub(super) fn allowed_regions(raw: &RawConfig) -> anyhow::Result<Vec<phonenumber::country::Id>> {
    parse_regions(&raw.otp_allowed_regions)
}

/// `"+998900000000=081020,+998900000001=111111"` → map from E.164 number to code.
fn parse_test_numbers(value: &str, region: phonenumber::country::Id) -> anyhow::Result<HashMap<String, String>> {
    let mut numbers = HashMap::new();
    for entry in value.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (number, code) =
            entry.split_once('=').with_context(|| format!("OTP_TEST_NUMBERS entry {entry:?} must be NUMBER=CODE"))?;
        let phone = crate::domain::PhoneNumber::parse(number.trim(), region)
            .map_err(|_| anyhow::anyhow!("OTP_TEST_NUMBERS entry {entry:?} has an invalid phone number"))?;
        let code = code.trim();
        if !crate::domain::is_otp_code(code) {
            bail!("OTP_TEST_NUMBERS entry {entry:?} needs a 6-digit code");
        }
        numbers.insert(phone.as_str().to_string(), code.to_string());
    }
    Ok(numbers)
}

/// `"UZ, KZ"` → regions; at least one.
fn parse_regions(value: &str) -> anyhow::Result<Vec<phonenumber::country::Id>> {
    let regions = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| anyhow::anyhow!("OTP_ALLOWED_REGIONS entry {entry:?} is not a two-letter region code"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if regions.is_empty() {
        bail!("OTP_ALLOWED_REGIONS must name at least one region");
    }
    Ok(regions)
}
