//! The administrative subcommands of the `tantana` binary: migrate, createsuperuser, check-config.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use migration::MigrateCommand;

use crate::{
    config::Config,
    db,
    error::AppError,
    service::user::{CreateSuperuserInput, create_superuser},
    state::AppState,
    store::Store,
};

/// `tantana migrate up|down|status` against the configured database.
pub async fn migrate(config: &Config, command: MigrateCommand) -> anyhow::Result<()> {
    let db = db::open(&config.database_url, 1).await?;
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
    let state = AppState::new(config, db, Store::Memory(Default::default()));
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
pub fn describe_config(config: &Config) -> String {
    let mut shown = config.clone();
    shown.database_url = db::redact_url(&config.database_url);
    shown.redis_url = config.redis_url.as_deref().map(db::redact_url);
    format!("{shown:#?}")
}
