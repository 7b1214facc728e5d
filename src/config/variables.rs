//! The environment variables the service reads, with their defaults: the one list of them.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// Raw variables as they come from the environment; `Config::from_vars` validates and derives.
#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    pub(super) secret_key: Option<SecretString>,
    pub(super) jwt_signing_key: Option<SecretString>,
    pub(super) debug: Option<String>,
    pub(super) database_url: Option<String>,
    pub(super) db_engine: Option<String>,
    pub(super) db_name: Option<String>,
    pub(super) db_user: Option<String>,
    pub(super) db_password: Option<SecretString>,
    pub(super) db_host: Option<String>,
    pub(super) db_port: Option<u16>,
    pub(super) db_max_connections: Option<u32>,
    pub(super) redis_url: Option<String>,
    #[serde(default = "defaults::redis_key_prefix")]
    pub(super) redis_key_prefix: String,
    #[serde(default = "defaults::bind")]
    pub(super) bind: SocketAddr,
    pub(super) sms_backend: Option<String>,
    #[serde(default = "defaults::sms_outbox")]
    pub(super) sms_outbox: PathBuf,
    #[serde(default = "defaults::phone_default_region")]
    pub(super) phone_default_region: String,
    #[serde(default = "defaults::otp_ttl")]
    pub(super) otp_ttl: u64,
    #[serde(default = "defaults::otp_verified_ttl")]
    pub(super) otp_verified_ttl: u64,
    #[serde(default = "defaults::otp_max_attempts")]
    pub(super) otp_max_attempts: u32,
    #[serde(default = "defaults::otp_resend_cooldown")]
    pub(super) otp_resend_cooldown: u64,
    #[serde(default = "defaults::otp_max_per_hour")]
    pub(super) otp_max_per_hour: u32,
    #[serde(default)]
    pub(super) otp_test_numbers: String,
    #[serde(default = "defaults::jwt_access_ttl")]
    pub(super) jwt_access_ttl: u64,
    #[serde(default = "defaults::jwt_refresh_ttl")]
    pub(super) jwt_refresh_ttl: u64,
    pub(super) password_hash_concurrency: Option<usize>,
    pub(super) password_hash_nice: Option<i32>,
    pub(super) password_hash_queue: Option<usize>,
    #[serde(default = "defaults::otp_allowed_regions")]
    pub(super) otp_allowed_regions: String,
    #[serde(default = "defaults::http_header_read_timeout_secs")]
    pub(super) http_header_read_timeout_secs: u64,
    #[serde(default = "defaults::http_keepalive_timeout_secs")]
    pub(super) http_keepalive_timeout_secs: u64,
    #[serde(default = "defaults::http_max_connections")]
    pub(super) http_max_connections: usize,
    #[serde(default = "defaults::metrics_bind")]
    pub(super) metrics_bind: SocketAddr,
    #[serde(default = "defaults::store_memory_max_entries")]
    pub(super) store_memory_max_entries: usize,
    pub(super) log_format: Option<String>,
    pub(super) aes_key: Option<SecretString>,
    #[serde(default = "defaults::request_timeout_secs")]
    pub(super) request_timeout_secs: u64,
    pub(super) eskiz_email: Option<String>,
    pub(super) eskiz_password: Option<SecretString>,
    #[serde(default = "defaults::eskiz_from")]
    pub(super) eskiz_from: String,
    #[serde(default = "defaults::eskiz_base_url")]
    pub(super) eskiz_base_url: String,
    #[serde(default = "defaults::sms_timeout_secs")]
    pub(super) sms_timeout_secs: u64,
    pub(super) recaptcha_private_key: Option<SecretString>,
    pub(super) recaptcha_public_key: Option<String>,
    #[serde(default = "defaults::recaptcha_verify_url")]
    pub(super) recaptcha_verify_url: String,
    #[serde(default = "defaults::recaptcha_min_score")]
    pub(super) recaptcha_min_score: f64,
    pub(super) trusted_proxies: Option<String>,
    #[serde(default = "defaults::rate_limit_otp_per_ip_per_hour")]
    pub(super) rate_limit_otp_per_ip_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_per_hour")]
    pub(super) rate_limit_sms_per_hour: u32,
    #[serde(default = "defaults::rate_limit_login_failures")]
    pub(super) rate_limit_login_failures: u32,
    #[serde(default = "defaults::rate_limit_login_lock_secs")]
    pub(super) rate_limit_login_lock_secs: u64,
    #[serde(default = "defaults::rate_limit_auth_per_ip_per_minute")]
    pub(super) rate_limit_auth_per_ip_per_minute: u32,
    #[serde(default = "defaults::rate_limit_lookup_per_ip_per_minute")]
    pub(super) rate_limit_lookup_per_ip_per_minute: u32,
    #[serde(default = "defaults::rate_limit_ipv6_48_factor")]
    pub(super) rate_limit_ipv6_48_factor: u32,
    #[serde(default = "defaults::rate_limit_sms_accounts_per_hour")]
    pub(super) rate_limit_sms_accounts_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_per_prefix_per_hour")]
    pub(super) rate_limit_sms_per_prefix_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_prefix_digits")]
    pub(super) rate_limit_sms_prefix_digits: usize,
    #[serde(default = "defaults::rate_limit_password_per_account_per_hour")]
    pub(super) rate_limit_password_per_account_per_hour: u32,
    pub(super) cors_allowed_origins: Option<String>,
    pub(super) graphiql: Option<String>,
    pub(super) graphql_introspection: Option<String>,
}

pub(super) mod defaults {
    use super::*;

    pub fn request_timeout_secs() -> u64 {
        30
    }
    pub fn eskiz_from() -> String {
        "4546".into()
    }
    pub fn eskiz_base_url() -> String {
        "https://notify.eskiz.uz/api".into()
    }
    pub fn sms_timeout_secs() -> u64 {
        10
    }
    pub fn recaptcha_verify_url() -> String {
        "https://www.google.com/recaptcha/api/siteverify".into()
    }
    pub fn recaptcha_min_score() -> f64 {
        0.5
    }
    pub fn rate_limit_otp_per_ip_per_hour() -> u32 {
        30
    }
    pub fn rate_limit_sms_per_hour() -> u32 {
        1000
    }
    pub fn rate_limit_login_failures() -> u32 {
        10
    }
    pub fn rate_limit_login_lock_secs() -> u64 {
        900
    }
    pub fn rate_limit_auth_per_ip_per_minute() -> u32 {
        60
    }
    pub fn rate_limit_lookup_per_ip_per_minute() -> u32 {
        60
    }
    pub fn rate_limit_ipv6_48_factor() -> u32 {
        8
    }
    pub fn rate_limit_sms_accounts_per_hour() -> u32 {
        1000
    }
    pub fn rate_limit_sms_per_prefix_per_hour() -> u32 {
        30
    }
    /// Five national digits: a block of 10,000 numbers, the unit SMS pumping walks through.
    pub fn rate_limit_sms_prefix_digits() -> usize {
        5
    }
    pub fn rate_limit_password_per_account_per_hour() -> u32 {
        20
    }
    pub fn otp_allowed_regions() -> String {
        "UZ".into()
    }
    pub fn http_header_read_timeout_secs() -> u64 {
        10
    }
    pub fn http_keepalive_timeout_secs() -> u64 {
        60
    }
    pub fn http_max_connections() -> usize {
        10_000
    }
    pub fn metrics_bind() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9100))
    }
    /// About 200 bytes an entry: the in-process store stays near 20 MiB at most.
    pub fn store_memory_max_entries() -> usize {
        100_000
    }
    /// Hashes that may wait for a hashing thread: four per core.
    pub fn password_hash_queue(cpus: usize) -> usize {
        4 * cpus
    }
    /// HikariCP's pool-sizing rule, two connections per core plus one: queries beyond what the
    /// cores can run only queue inside PostgreSQL.
    pub fn db_max_connections(cpus: usize) -> u32 {
        u32::try_from(2 * cpus + 1).unwrap_or(u32::MAX)
    }
    pub fn redis_key_prefix() -> String {
        "tantana:".into()
    }
    pub fn bind() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8000))
    }
    pub fn sms_outbox() -> PathBuf {
        PathBuf::from("sms_outbox.jsonl")
    }
    pub fn phone_default_region() -> String {
        "UZ".into()
    }
    pub fn otp_ttl() -> u64 {
        120
    }
    pub fn otp_verified_ttl() -> u64 {
        600
    }
    pub fn otp_max_attempts() -> u32 {
        5
    }
    pub fn otp_resend_cooldown() -> u64 {
        120
    }
    pub fn otp_max_per_hour() -> u32 {
        5
    }
    pub fn jwt_access_ttl() -> u64 {
        3600
    }
    pub fn jwt_refresh_ttl() -> u64 {
        86_400
    }
}
