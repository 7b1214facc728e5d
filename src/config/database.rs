//! Where the database is: `DATABASE_URL`, else Django's `DB_*` settings, else a SQLite file.

use anyhow::{Context, bail};
use secrecy::SecretString;

use super::{parse, variables::RawConfig, variables::defaults};

/// The embedded default database: a SQLite file next to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tantana.sqlite3?mode=rwc";

/// The database's address. Django's `DB_PASSWORD` stays out of it: `password` hands it to the
/// driver's connect options, so it is never pasted into a string that may be shown.
pub(super) fn url(raw: &RawConfig) -> anyhow::Result<String> {
    match &raw.database_url {
        Some(url) => Ok(url.clone()),
        None => django_database_url(
            raw.db_engine.as_deref(),
            raw.db_name.as_deref(),
            raw.db_user.as_deref(),
            raw.db_host.as_deref(),
            raw.db_port,
        ),
    }
}

/// `DB_PASSWORD`, when the address comes from Django's `DB_*` settings.
pub(super) fn password(raw: &RawConfig) -> Option<SecretString> {
    raw.database_url.is_none().then(|| raw.db_password.clone()).flatten()
}

pub(super) fn max_connections(raw: &RawConfig) -> anyhow::Result<u32> {
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    parse::count_or("DB_MAX_CONNECTIONS", raw.db_max_connections, defaults::db_max_connections(cpus))
}

/// Builds a URL from Django's `DB_*` settings, or falls back to the embedded SQLite file.
fn django_database_url(
    engine: Option<&str>,
    name: Option<&str>,
    user: Option<&str>,
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
            let credentials = user.map(|user| format!("{user}@")).unwrap_or_default();
            let host = host.unwrap_or("127.0.0.1");
            let port = port.unwrap_or(5432);
            Ok(format!("postgres://{credentials}{host}:{port}/{name}"))
        }
        "sqlite3" | "sqlite" => Ok(format!("sqlite://{name}?mode=rwc")),
        other => bail!("DB_ENGINE {other:?} is not supported (use postgresql or sqlite3)"),
    }
}
