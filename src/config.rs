//! Typed configuration, read once from the environment (and `.env`) at start-up.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The embedded default database: a SQLite file next to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tantana.sqlite3?mode=rwc";

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

/// Shape of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"********\"")
    }
}

/// Raw variables as they come from the environment; `Config::from_vars` validates and derives.
#[derive(Debug, Deserialize)]
struct RawConfig {
    secret_key: Option<Secret>,
    jwt_signing_key: Option<Secret>,
    debug: Option<String>,
    database_url: Option<String>,
    db_engine: Option<String>,
    db_name: Option<String>,
    db_user: Option<String>,
    db_password: Option<Secret>,
    db_host: Option<String>,
    db_port: Option<u16>,
    db_max_connections: Option<u32>,
    redis_url: Option<String>,
    #[serde(default = "defaults::redis_key_prefix")]
    redis_key_prefix: String,
    #[serde(default = "defaults::bind")]
    bind: SocketAddr,
    sms_backend: Option<String>,
    #[serde(default = "defaults::sms_outbox")]
    sms_outbox: PathBuf,
    #[serde(default = "defaults::phone_default_region")]
    phone_default_region: String,
    #[serde(default = "defaults::otp_ttl")]
    otp_ttl: u64,
    #[serde(default = "defaults::otp_verified_ttl")]
    otp_verified_ttl: u64,
    #[serde(default = "defaults::otp_max_attempts")]
    otp_max_attempts: u32,
    #[serde(default = "defaults::otp_resend_cooldown")]
    otp_resend_cooldown: u64,
    #[serde(default = "defaults::otp_max_per_hour")]
    otp_max_per_hour: u32,
    #[serde(default)]
    otp_test_numbers: String,
    #[serde(default = "defaults::jwt_access_ttl")]
    jwt_access_ttl: u64,
    #[serde(default = "defaults::jwt_refresh_ttl")]
    jwt_refresh_ttl: u64,
    password_hash_concurrency: Option<usize>,
    password_hash_nice: Option<i32>,
    password_hash_queue: Option<usize>,
    #[serde(default = "defaults::otp_allowed_regions")]
    otp_allowed_regions: String,
    #[serde(default = "defaults::http_header_read_timeout_secs")]
    http_header_read_timeout_secs: u64,
    #[serde(default = "defaults::http_keepalive_timeout_secs")]
    http_keepalive_timeout_secs: u64,
    #[serde(default = "defaults::http_max_connections")]
    http_max_connections: usize,
    #[serde(default = "defaults::metrics_bind")]
    metrics_bind: SocketAddr,
    #[serde(default = "defaults::store_memory_max_entries")]
    store_memory_max_entries: usize,
    log_format: Option<String>,
    aes_key: Option<Secret>,
    #[serde(default = "defaults::request_timeout_secs")]
    request_timeout_secs: u64,
    eskiz_email: Option<String>,
    eskiz_password: Option<Secret>,
    #[serde(default = "defaults::eskiz_from")]
    eskiz_from: String,
    #[serde(default = "defaults::eskiz_base_url")]
    eskiz_base_url: String,
    #[serde(default = "defaults::sms_timeout_secs")]
    sms_timeout_secs: u64,
    recaptcha_private_key: Option<Secret>,
    recaptcha_public_key: Option<String>,
    #[serde(default = "defaults::recaptcha_verify_url")]
    recaptcha_verify_url: String,
    #[serde(default = "defaults::recaptcha_min_score")]
    recaptcha_min_score: f64,
    trusted_proxies: Option<String>,
    #[serde(default = "defaults::rate_limit_otp_per_ip_per_hour")]
    rate_limit_otp_per_ip_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_per_hour")]
    rate_limit_sms_per_hour: u32,
    #[serde(default = "defaults::rate_limit_login_failures")]
    rate_limit_login_failures: u32,
    #[serde(default = "defaults::rate_limit_login_lock_secs")]
    rate_limit_login_lock_secs: u64,
    #[serde(default = "defaults::rate_limit_auth_per_ip_per_minute")]
    rate_limit_auth_per_ip_per_minute: u32,
    #[serde(default = "defaults::rate_limit_lookup_per_ip_per_minute")]
    rate_limit_lookup_per_ip_per_minute: u32,
    #[serde(default = "defaults::rate_limit_ipv6_48_factor")]
    rate_limit_ipv6_48_factor: u32,
    #[serde(default = "defaults::rate_limit_sms_accounts_per_hour")]
    rate_limit_sms_accounts_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_per_prefix_per_hour")]
    rate_limit_sms_per_prefix_per_hour: u32,
    #[serde(default = "defaults::rate_limit_sms_prefix_digits")]
    rate_limit_sms_prefix_digits: usize,
    #[serde(default = "defaults::rate_limit_password_per_account_per_hour")]
    rate_limit_password_per_account_per_hour: u32,
    cors_allowed_origins: Option<String>,
    graphiql: Option<String>,
    graphql_introspection: Option<String>,
}

mod defaults {
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
    /// cores can run only queue inside PostgreSQL. On 2 cores, 5 instead of 16 connections cut
    /// check-user's p99 at 32 concurrent clients by a third (bench/RESULTS.md).
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

/// Everything the service needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signs tokens and keys the OTP HMAC.
    pub secret_key: Secret,
    /// True when no `SECRET_KEY` was given and a random one is in use.
    pub secret_key_is_random: bool,
    pub jwt_signing_key: Secret,
    pub debug: bool,
    pub database_url: String,
    pub db_max_connections: u32,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub bind: SocketAddr,
    pub sms_backend: SmsBackendKind,
    pub sms_outbox: PathBuf,
    pub phone_default_region: phonenumber::country::Id,
    pub otp: OtpConfig,
    pub jwt_access_ttl: u64,
    pub jwt_refresh_ttl: u64,
    pub password_hash_concurrency: usize,
    /// Hash cost units that may wait for a hashing thread; beyond it, 503 at once.
    pub password_hash_queue: usize,
    /// Regions whose mobile numbers may receive a code (`OTP_ALLOWED_REGIONS`).
    pub otp_allowed_regions: Vec<phonenumber::country::Id>,
    /// Connection handling of the public listener.
    pub http: HttpConfig,
    /// Where `/metrics` is served when `DEBUG=false` (with `DEBUG=true` it is on the public port).
    pub metrics_bind: SocketAddr,
    /// Most entries the in-process store keeps; the soonest to expire are evicted first.
    pub store_memory_max_entries: usize,
    /// Niceness of the hashing threads (0–19): higher favours cheap requests over logins.
    pub password_hash_nice: i32,
    pub log_format: LogFormat,
    /// Accepted for compatibility with the Django settings; the original never used it.
    pub aes_key: Option<Secret>,
    /// Longest a request may take before it is answered with a 503.
    pub request_timeout_secs: u64,
    /// Set when `SMS_BACKEND=eskiz`.
    pub eskiz: Option<EskizConfig>,
    /// Longest an SMS provider call may take.
    pub sms_timeout_secs: u64,
    /// Set when `RECAPTCHA_PRIVATE_KEY` is: send-otp then needs a captcha token.
    pub recaptcha: Option<RecaptchaConfig>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub limits: RateLimits,
    /// Origins allowed by CORS (`*` for any); empty means same-origin only.
    pub cors_allowed_origins: Vec<String>,
    /// Serve GraphiQL on `GET /graphql` (`GRAPHIQL`, default on).
    pub graphiql: bool,
    /// Answer GraphQL introspection queries (`GRAPHQL_INTROSPECTION`, default on).
    pub graphql_introspection: bool,
}

/// Connection limits of the public listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// A request's headers must arrive within this.
    pub header_read_timeout_secs: u64,
    /// An idle kept-alive connection is closed after this.
    pub keepalive_timeout_secs: u64,
    /// Concurrent connections; more wait in the listen backlog for a free slot.
    pub max_connections: usize,
}

/// Eskiz account and sender.
#[derive(Debug, Clone)]
pub struct EskizConfig {
    pub email: String,
    pub password: Secret,
    pub from: String,
    pub base_url: String,
}

/// reCAPTCHA verification settings.
#[derive(Debug, Clone)]
pub struct RecaptchaConfig {
    pub private_key: Secret,
    pub public_key: Option<String>,
    pub verify_url: String,
    /// v3 scores below this are refused (v2 answers carry no score and pass on `success`).
    pub min_score: f64,
}

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

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the given variables; tests use this to configure an app without touching the process.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        // Empty values mean "unset", as in Django's `.env` habits (`REDIS_URL=`).
        let vars = vars.into_iter().filter(|(_, value)| !value.is_empty());
        let raw: RawConfig = envy::from_iter(vars).map_err(|error| anyhow::anyhow!(describe(error)))?;
        raw.validate()
    }
}

/// envy reports a missing field by its lower-case name and a bad value with its variable name.
fn describe(error: envy::Error) -> String {
    match error {
        envy::Error::MissingValue(name) => format!("{} is required", name.to_uppercase()),
        envy::Error::Custom(message) => format!("invalid configuration: {message}"),
    }
}

/// Parses a closed set of lower-case words, naming the variable when the value is not one of them.
/// A configured count that must be at least 1, or `default` when unset.
fn count_or<T: Copy + Default + PartialEq>(name: &str, value: Option<T>, default: T) -> anyhow::Result<T> {
    match value {
        Some(n) if n == T::default() => bail!("{name} must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn parse_choice<T: Copy>(name: &str, value: &str, choices: &[(&str, T)]) -> anyhow::Result<T> {
    let wanted = value.to_ascii_lowercase();
    choices.iter().find(|(word, _)| *word == wanted).map(|(_, choice)| *choice).with_context(|| {
        let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
        format!("{name} must be one of {}, got {value:?}", words.join(" | "))
    })
}

impl RawConfig {
    fn validate(self) -> anyhow::Result<Config> {
        let debug = match self.debug.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("1" | "true" | "yes" | "on") => Some(true),
            Some("0" | "false" | "no" | "off") => Some(false),
            Some(other) => bail!("DEBUG must be true or false, got {other:?}"),
        };
        let (secret_key, secret_key_is_random) = match self.secret_key {
            Some(key) => (key, false),
            None if debug == Some(false) => {
                bail!("SECRET_KEY is required when DEBUG=false")
            }
            None => (Secret::new(random_secret()), true),
        };
        if debug == Some(false) {
            check_deployment_secret(secret_key.expose())?;
        }
        let jwt_signing_key = self.jwt_signing_key.unwrap_or_else(|| secret_key.clone());
        let database_url = match self.database_url {
            Some(url) => url,
            None => django_database_url(
                self.db_engine.as_deref(),
                self.db_name.as_deref(),
                self.db_user.as_deref(),
                self.db_password.as_ref().map(Secret::expose),
                self.db_host.as_deref(),
                self.db_port,
            )?,
        };
        let phone_default_region = self.phone_default_region.to_ascii_uppercase().parse().map_err(|_| {
            anyhow::anyhow!(
                "PHONE_DEFAULT_REGION must be a two-letter region code, got {:?}",
                self.phone_default_region
            )
        })?;
        let test_numbers = parse_test_numbers(&self.otp_test_numbers, phone_default_region)?;
        for (name, value) in [
            ("OTP_TTL", self.otp_ttl),
            ("OTP_VERIFIED_TTL", self.otp_verified_ttl),
            ("JWT_ACCESS_TTL", self.jwt_access_ttl),
            ("JWT_REFRESH_TTL", self.jwt_refresh_ttl),
        ] {
            if value == 0 {
                bail!("{name} must be at least 1 second");
            }
        }
        if self.otp_max_attempts == 0 {
            bail!("OTP_MAX_ATTEMPTS must be at least 1");
        }
        // On/off switches read the same words as DEBUG. GraphiQL and introspection map the API
        // for an attacker, so in production (DEBUG=false) they are off unless asked for.
        let exploring_default = debug != Some(false);
        let switch = |name: &str, value: Option<&str>| -> anyhow::Result<bool> {
            match value.map(str::to_ascii_lowercase).as_deref() {
                None => Ok(exploring_default),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(other) => bail!("{name} must be true or false, got {other:?}"),
            }
        };
        let graphiql = switch("GRAPHIQL", self.graphiql.as_deref())?;
        let graphql_introspection = switch("GRAPHQL_INTROSPECTION", self.graphql_introspection.as_deref())?;
        if debug == Some(false) && self.sms_backend.is_none() {
            bail!("SMS_BACKEND must be set when DEBUG=false (console and file deliver no SMS)");
        }
        let otp_allowed_regions = parse_regions(&self.otp_allowed_regions)?;
        if self.rate_limit_ipv6_48_factor == 0 {
            bail!("RATE_LIMIT_IPV6_48_FACTOR must be at least 1");
        }
        if !(1..=12).contains(&self.rate_limit_sms_prefix_digits) {
            bail!("RATE_LIMIT_SMS_PREFIX_DIGITS must be between 1 and 12");
        }
        for (name, value) in [
            ("HTTP_HEADER_READ_TIMEOUT_SECS", self.http_header_read_timeout_secs),
            ("HTTP_KEEPALIVE_TIMEOUT_SECS", self.http_keepalive_timeout_secs),
        ] {
            if value == 0 {
                bail!("{name} must be at least 1 second");
            }
        }
        if self.http_max_connections == 0 {
            bail!("HTTP_MAX_CONNECTIONS must be at least 1");
        }
        if self.store_memory_max_entries == 0 {
            bail!("STORE_MEMORY_MAX_ENTRIES must be at least 1");
        }
        // NIST SP 800-63B: an account may be locked after at most 100 failed attempts.
        if !(1..=100).contains(&self.rate_limit_login_failures) {
            bail!("RATE_LIMIT_LOGIN_FAILURES must be between 1 and 100");
        }
        if !(0.0..=1.0).contains(&self.recaptcha_min_score) {
            bail!("RECAPTCHA_MIN_SCORE must be between 0.0 and 1.0");
        }
        let eskiz_config = match (self.eskiz_email, self.eskiz_password) {
            (Some(email), Some(password)) => {
                Some(EskizConfig { email, password, from: self.eskiz_from, base_url: self.eskiz_base_url })
            }
            _ => None,
        };
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let password_hash_concurrency = count_or("PASSWORD_HASH_CONCURRENCY", self.password_hash_concurrency, cpus)?;
        let db_max_connections =
            count_or("DB_MAX_CONNECTIONS", self.db_max_connections, defaults::db_max_connections(cpus))?;
        let password_hash_queue =
            count_or("PASSWORD_HASH_QUEUE", self.password_hash_queue, defaults::password_hash_queue(cpus))?;
        let password_hash_nice = match self.password_hash_nice {
            // Negative values would raise hashing above requests, and need privileges anyway.
            Some(nice) if !(0..=19).contains(&nice) => bail!("PASSWORD_HASH_NICE must be between 0 and 19"),
            Some(nice) => nice,
            None => crate::service::password::DEFAULT_HASH_NICE,
        };
        let config = Config {
            secret_key,
            secret_key_is_random,
            jwt_signing_key,
            debug: debug.unwrap_or(true),
            database_url,
            db_max_connections,
            redis_url: self.redis_url,
            redis_key_prefix: self.redis_key_prefix,
            bind: self.bind,
            sms_backend: match self.sms_backend.as_deref() {
                None => SmsBackendKind::Console,
                Some(value) => parse_choice(
                    "SMS_BACKEND",
                    value,
                    &[
                        ("console", SmsBackendKind::Console),
                        ("file", SmsBackendKind::File),
                        ("eskiz", SmsBackendKind::Eskiz),
                    ],
                )?,
            },
            sms_outbox: self.sms_outbox,
            phone_default_region,
            otp: OtpConfig {
                ttl_secs: self.otp_ttl,
                verified_ttl_secs: self.otp_verified_ttl,
                max_attempts: self.otp_max_attempts,
                resend_cooldown_secs: self.otp_resend_cooldown,
                max_per_hour: self.otp_max_per_hour,
                test_numbers,
            },
            jwt_access_ttl: self.jwt_access_ttl,
            jwt_refresh_ttl: self.jwt_refresh_ttl,
            password_hash_concurrency,
            password_hash_queue,
            otp_allowed_regions,
            http: HttpConfig {
                header_read_timeout_secs: self.http_header_read_timeout_secs,
                keepalive_timeout_secs: self.http_keepalive_timeout_secs,
                max_connections: self.http_max_connections,
            },
            metrics_bind: self.metrics_bind,
            store_memory_max_entries: self.store_memory_max_entries,
            password_hash_nice,
            log_format: match self.log_format.as_deref() {
                None => LogFormat::Text,
                Some(value) => {
                    parse_choice("LOG_FORMAT", value, &[("text", LogFormat::Text), ("json", LogFormat::Json)])?
                }
            },
            aes_key: self.aes_key,
            request_timeout_secs: self.request_timeout_secs.max(1),
            eskiz: eskiz_config,
            sms_timeout_secs: self.sms_timeout_secs.max(1),
            recaptcha: self.recaptcha_private_key.map(|private_key| RecaptchaConfig {
                private_key,
                public_key: self.recaptcha_public_key,
                verify_url: self.recaptcha_verify_url,
                min_score: self.recaptcha_min_score,
            }),
            trusted_proxies: parse_trusted_proxies(self.trusted_proxies.as_deref().unwrap_or_default())?,
            limits: RateLimits {
                otp_per_ip_per_hour: self.rate_limit_otp_per_ip_per_hour,
                sms_per_hour: self.rate_limit_sms_per_hour,
                login_failures: self.rate_limit_login_failures,
                login_lock_secs: self.rate_limit_login_lock_secs,
                auth_per_ip_per_minute: self.rate_limit_auth_per_ip_per_minute,
                lookup_per_ip_per_minute: self.rate_limit_lookup_per_ip_per_minute,
                ipv6_48_factor: self.rate_limit_ipv6_48_factor,
                sms_accounts_per_hour: self.rate_limit_sms_accounts_per_hour,
                sms_per_prefix_per_hour: self.rate_limit_sms_per_prefix_per_hour,
                sms_prefix_digits: self.rate_limit_sms_prefix_digits,
                password_per_account_per_hour: self.rate_limit_password_per_account_per_hour,
            },
            cors_allowed_origins: self
                .cors_allowed_origins
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_string)
                .collect(),
            graphiql,
            graphql_introspection,
        };
        if config.sms_backend == SmsBackendKind::Eskiz && config.eskiz.is_none() {
            bail!("SMS_BACKEND=eskiz needs ESKIZ_EMAIL and ESKIZ_PASSWORD");
        }
        Ok(config)
    }
}

/// Builds a URL from Django's `DB_*` settings, or falls back to the embedded SQLite file.
fn django_database_url(
    engine: Option<&str>,
    name: Option<&str>,
    user: Option<&str>,
    password: Option<&str>,
    host: Option<&str>,
    port: Option<u16>,
) -> anyhow::Result<String> {
    let Some(engine) = engine else {
        return Ok(DEFAULT_DATABASE_URL.to_string());
    };
    let name = name.context("DB_NAME is required when DB_ENGINE is set")?;
    let engine = engine.rsplit('.').next().unwrap_or(engine);
    match engine {
        "postgresql" | "postgres" | "postgresql_psycopg2" => {
            let credentials = match (user, password) {
                (Some(user), Some(password)) => format!("{user}:{password}@"),
                (Some(user), None) => format!("{user}@"),
                _ => String::new(),
            };
            let host = host.unwrap_or("127.0.0.1");
            let port = port.unwrap_or(5432);
            Ok(format!("postgres://{credentials}{host}:{port}/{name}"))
        }
        "sqlite3" | "sqlite" => Ok(format!("sqlite://{name}?mode=rwc")),
        other => bail!("DB_ENGINE {other:?} is not supported (use postgresql or sqlite3)"),
    }
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

/// Django's deployment check security.W009: a production key must be long, varied and not
/// the `startproject` placeholder.
fn check_deployment_secret(key: &str) -> anyhow::Result<()> {
    let distinct: std::collections::HashSet<char> = key.chars().collect();
    if key.chars().count() < 50 || distinct.len() < 5 || key.starts_with("django-insecure-") {
        bail!(
            "SECRET_KEY is too weak for DEBUG=false: it needs at least 50 characters, at least 5 \
             distinct ones, and no django-insecure- prefix (Django's check security.W009)"
        );
    }
    Ok(())
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

/// `"10.0.0.0/8, 192.168.1.10"` → networks; a bare address is a /32 (or /128).
fn parse_trusted_proxies(value: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("TRUSTED_PROXIES entry {entry:?} is not an IP address or CIDR network"))
        })
        .collect()
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
