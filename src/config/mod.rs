//! Typed configuration, read once from the environment (and `.env`) at start-up: the variables
//! are listed in `variables`, and each area checks and shapes its own.

mod database;
mod limits;
mod otp;
mod parse;
mod passwords;
mod secrets;
mod server;
mod sms;
mod variables;

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;

use self::variables::RawConfig;
pub use self::{
    database::DEFAULT_DATABASE_URL,
    limits::RateLimits,
    otp::OtpConfig,
    passwords::DEFAULT_HASH_NICE,
    server::{HttpConfig, LogFormat},
    sms::{EskizConfig, RecaptchaConfig, SmsBackendKind},
};

/// Everything the service needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Signs tokens and keys the OTP HMAC.
    pub secret_key: SecretString,
    /// True when no `SECRET_KEY` was given and a random one is in use.
    pub secret_key_is_random: bool,
    pub jwt_signing_key: SecretString,
    pub debug: bool,
    pub database_url: String,
    /// Django's `DB_PASSWORD`, given to the driver apart from `database_url`.
    pub db_password: Option<SecretString>,
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
    pub aes_key: Option<SecretString>,
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
        build(raw)
    }
}

/// envy reports a missing field by its lower-case name and a bad value with its variable name.
fn describe(error: envy::Error) -> String {
    match error {
        envy::Error::MissingValue(name) => format!("{} is required", name.to_uppercase()),
        envy::Error::Custom(message) => format!("invalid configuration: {message}"),
    }
}

/// Checks every area and assembles the configuration; the first bad value names its variable.
fn build(raw: RawConfig) -> anyhow::Result<Config> {
    let debug = parse::optional_switch("DEBUG", raw.debug.as_deref())?;
    let production = debug == Some(false);
    let keys = secrets::keys(&raw, production)?;
    let phone_default_region = otp::default_region(&raw)?;
    let otp = otp::build(&raw, phone_default_region)?;
    let sms = sms::build(&raw, production)?;
    let server = server::build(&raw, production)?;
    let passwords = passwords::build(&raw)?;
    Ok(Config {
        secret_key: keys.secret_key,
        secret_key_is_random: keys.is_random,
        jwt_signing_key: keys.jwt_signing_key,
        debug: debug.unwrap_or(true),
        database_url: database::url(&raw)?,
        db_password: database::password(&raw),
        db_max_connections: database::max_connections(&raw)?,
        redis_url: raw.redis_url.clone(),
        redis_key_prefix: raw.redis_key_prefix.clone(),
        bind: raw.bind,
        sms_backend: sms.backend,
        sms_outbox: raw.sms_outbox.clone(),
        phone_default_region,
        otp_allowed_regions: otp::allowed_regions(&raw)?,
        otp,
        jwt_access_ttl: raw.jwt_access_ttl,
        jwt_refresh_ttl: raw.jwt_refresh_ttl,
        password_hash_concurrency: passwords.concurrency,
        password_hash_queue: passwords.queue,
        password_hash_nice: passwords.nice,
        http: server.http,
        metrics_bind: raw.metrics_bind,
        store_memory_max_entries: parse::at_least_one("STORE_MEMORY_MAX_ENTRIES", raw.store_memory_max_entries)?,
        log_format: server.log_format,
        aes_key: raw.aes_key.clone(),
        request_timeout_secs: raw.request_timeout_secs.max(1),
        eskiz: sms.eskiz,
        sms_timeout_secs: raw.sms_timeout_secs.max(1),
        recaptcha: sms.recaptcha,
        trusted_proxies: parse::trusted_proxies(raw.trusted_proxies.as_deref().unwrap_or_default())?,
        limits: limits::build(&raw)?,
        cors_allowed_origins: server.cors_allowed_origins,
        graphiql: server.graphiql,
        graphql_introspection: server.graphql_introspection,
    })
}
