//! The administrative subcommands of the `tantana` binary: migrate, createsuperuser, check-config.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use migration::MigrateCommand;

use crate::{
    config::Config,
    db,
    error::AppError,
    service::{
        AppState,
        user::{CreateSuperuserInput, create_superuser},
    },
    store::{MemoryStore, Store},
};

/// `tantana migrate up|down|status` against the configured database.
pub async fn migrate(config: &Config, command: MigrateCommand) -> anyhow::Result<()> {
    let db = db::open(&config.database_url, config.db_password.as_ref(), 1).await?;
    migration::run_command(&db, command).await.context("migration failed")
}

/// Flags of `tantana createsuperuser`; whatever is missing is asked for on the terminal.
#[derive(Debug, Default, clap::Args)]
pub struct SuperuserArgs {
    /// Phone number of the account (any common spelling).
    #[arg(long)]
    pub phone_number: Option<String>,
    /// Full name of the account.
    #[arg(long)]
    pub full_name: Option<String>,
    /// Password; prefer the environment variable to keep it out of shell history.
    #[arg(long, env = "SUPERUSER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// `tantana createsuperuser`: like Django's, it prompts for what the flags do not give.
pub async fn create_superuser_command(config: Config, args: SuperuserArgs) -> anyhow::Result<()> {
    let phone_number = match args.phone_number {
        Some(phone) => phone,
        None => prompt_line("Phone number: ")?,
    };
    let full_name = match args.full_name {
        Some(name) => name,
        None => prompt_line("Full name: ")?,
    };
    let (password, password2) = match args.password {
        Some(password) => (password.clone(), password),
        None => (prompt_secret("Password: ")?, prompt_secret("Password (again): ")?),
    };
    let db = db::connect(&config).await?;
    // The command touches no OTP state, so the in-process store is enough even in production.
    let store = Store::Memory(MemoryStore::new(config.store_memory_max_entries));
    let state = AppState::new(config, db, store);
    let input = CreateSuperuserInput {
        phone_number: Some(phone_number),
        full_name: Some(full_name),
        password: Some(password),
        password2: Some(password2),
    };
    match create_superuser(&state, input).await {
        Ok(user) => {
            println!("Superuser created: id {} ({}).", user.id, user.phone_number);
            Ok(())
        }
        Err(AppError::Validation(errors)) => {
            let lines: Vec<String> =
                errors.iter().map(|e| format!("  {}: {}", e.field.unwrap_or("input"), e.message)).collect();
            bail!("the superuser was not created:\n{}", lines.join("\n"))
        }
        Err(error) => bail!("the superuser was not created: {error}"),
    }
}

fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    let mut stdout = std::io::stdout();
    write!(stdout, "{prompt}")?;
    stdout.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

fn prompt_secret(prompt: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: pass --password or set SUPERUSER_PASSWORD");
    }
    rpassword::prompt_password(prompt).context("reading the password failed")
}

/// `tantana check-config`: validates the environment and prints the effective configuration,
/// secrets masked; a bad value has already stopped `Config::from_env` with the variable's name.
/// `Secret` fields mask themselves; URLs lose their passwords, test numbers their codes.
pub fn describe_config(config: &Config) -> String {
    let mut shown = config.clone();
    shown.database_url = mask_url(&config.database_url);
    shown.redis_url = config.redis_url.as_deref().map(mask_url);
    if let Some(eskiz) = &mut shown.eskiz {
        eskiz.base_url = mask_url(&eskiz.base_url);
    }
    if let Some(recaptcha) = &mut shown.recaptcha {
        recaptcha.verify_url = mask_url(&recaptcha.verify_url);
    }
    // The number shows which review account is configured; its code would let anyone sign in.
    for code in shown.otp.test_numbers.values_mut() {
        *code = MASK.into();
    }
    format!("{shown:#?}")
}

const MASK: &str = "***";

/// Query parameters whose names contain one of these carry credentials (`password`,
/// `sslpassword`, `passphrase`, `pwd`, `client_secret`, `token`, `api_key`, `sslkey`, …).
const SECRET_PARAMETER_WORDS: [&str; 6] = ["pass", "pwd", "secret", "token", "key", "credential"];

/// A URL with the password of its userinfo and the values of credential-like query parameters
/// masked: `postgres://app:s3cret@db/app?sslpassword=x` → `postgres://app:***@db/app?sslpassword=***`.
/// A password that should have been percent-encoded but was not (`/`, `?` or `@` in it) is
/// still masked as a whole, never cut and shown in part.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return mask_query(url);
    };
    let (scheme, rest) = url.split_at(scheme_end);
    // Userinfo ends at the last `@` before the query: a raw `/` or `@` in a password stays in it.
    let before_query = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..before_query].rfind('@').or_else(|| {
        // A raw `?` or `#` in the password: the `@` is after it, and no path came before it.
        rest.rfind('@').filter(|&at| rest[..at].contains(':') && !rest[..at].contains('/'))
    });
    match at {
        Some(at) => {
            let (userinfo, after) = rest.split_at(at);
            // Without a `:` the userinfo is a user name alone, which is no secret.
            let user = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:{MASK}"),
                None => userinfo.to_string(),
            };
            format!("{scheme}{user}{}", mask_query(after))
        }
        None => format!("{scheme}{}", mask_query(rest)),
    }
}

/// Masks the values of credential-like parameters in the query of `url`, keeping its fragment.
fn mask_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let parameters: Vec<String> = query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => format!("{name}={MASK}"),
            _ => parameter.to_string(),
        })
        .collect();
    let fragment = fragment.map(|fragment| format!("#{fragment}")).unwrap_or_default();
    format!("{base}?{}{fragment}", parameters.join("&"))
}

fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETER_WORDS.iter().any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::mask_url;

    #[test]
    fn masks_passwords_in_userinfo_and_query() {
        for (url, shown) in [
            ("postgres://app:s3cret@db:5432/app", "postgres://app:***@db:5432/app"),
            (
                "postgres://app@db/app?password=s3cret&sslmode=require",
                "postgres://app@db/app?password=***&sslmode=require",
            ),
            (
                "postgres://db/app?SSLPassword=s3cret&application_name=a@b",
                "postgres://db/app?SSLPassword=***&application_name=a@b",
            ),
            ("postgres://app:s3/cr@t@db/app", "postgres://app:***@db/app"),
            ("postgres://app:s3?cret@db/app", "postgres://app:***@db/app"),
            ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
            ("https://api.example/v1?api_key=s3cret#top", "https://api.example/v1?api_key=***#top"),
            ("sqlite://tantana.sqlite3?mode=rwc", "sqlite://tantana.sqlite3?mode=rwc"),
        ] {
            assert_eq!(mask_url(url), shown, "{url}");
        }
    }
}
