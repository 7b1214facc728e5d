//! `AppState`: the connections and collaborators every request shares, built once at start-up.

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    service::{
        device_session::{EndedCache, ended_cache},
        password::PasswordHasher,
        token::TokenService,
    },
    sms::SmsSender,
    store::Store,
};

/// Cheap to clone: one `Arc` around everything.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// What the service functions work with.
pub struct Services {
    pub config: Config,
    pub db: DatabaseConnection,
    pub store: Store,
    pub sms: SmsSender,
    pub passwords: PasswordHasher,
    pub tokens: TokenService,
    /// Outgoing HTTP (captcha verification), with the provider timeout.
    pub http: reqwest::Client,
    /// This instance's recent answers to "has this sign-in session ended?".
    pub ended_sessions: EndedCache,
}

impl AppState {
    /// Assembles the state from a config and connections that are already open.
    pub fn new(config: Config, db: DatabaseConnection, store: Store) -> Self {
        let sms = SmsSender::from_config(&config);
        let passwords = PasswordHasher::with_queue(
            config.password_hash_concurrency,
            config.password_hash_queue,
            config.password_hash_nice,
        );
        let tokens = TokenService::new(&config);
        let timeout = std::time::Duration::from_secs(config.sms_timeout_secs);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self(Arc::new(Services { config, db, store, sms, passwords, tokens, http, ended_sessions: ended_cache() }))
    }

    /// Opens the database (running migrations) and the store that `config` names.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        let db = crate::db::connect(&config).await?;
        let store =
            Store::connect(config.redis_url.as_deref(), &config.redis_key_prefix, config.store_memory_max_entries)
                .await?;
        Ok(Self::new(config, db, store))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}
