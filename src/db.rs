//! Opening the database and bringing its schema up to date.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;

/// Pooled connections idle at least this long are pinged before use.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_millis(500);

/// Connects with the configured pool size and runs pending migrations.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let db = open(&config.database_url, config.db_password.as_ref(), config.db_max_connections).await?;
    Migrator::up(&db, None).await.context("running database migrations failed")?;
    Ok(db)
}

/// Connects without migrating (the `migrate` command decides itself).
pub async fn open(
    url: &str,
    password: Option<&SecretString>,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    if let Some(password) = password {
        let password = password.expose_secret().to_string();
        options.map_sqlx_postgres_opts(move |options| options.password(&password));
    }
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // sqlx's default pings every connection before lending it: a second round trip per query
        // (a tenth of check-user's throughput). A connection used within the last half second is
        // alive for all practical purposes; one idle longer may have been dropped by the server
        // or a proxy, so it is pinged first (HikariCP draws the same line).
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        // WAL lets readers proceed during a write; busy_timeout makes concurrent writers wait
        // instead of failing with "database is locked". Set per connection, so every one has it.
        .map_sqlx_sqlite_opts(|options| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
        });
    let db =
        Database::connect(options).await.with_context(|| format!("cannot open the database at {}", redact_url(url)))?;
    Ok(db)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
