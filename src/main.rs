//! The `tantana` binary: reads the configuration, opens the database and store, and serves.

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::MigrateCommand;
use tantana::{AppState, app, cli, config::Config, logging, metrics_app, server};

/// jemalloc: glibc's malloc and free were a tenth of a check-user's CPU (see bench/RESULTS.md).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Two arenas for two cores, and freed pages returned within a second, so a burst does not leave
/// the process large: the memory targets matter as much as the speed.
#[cfg(target_os = "linux")]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static JEMALLOC_CONF: &[u8; 47] = b"narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Tantana Auth: phone-number accounts, OTP by SMS and JWT sessions, over REST v1 and GraphQL.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Create a staff superuser (prompts for what the flags do not give).
    Createsuperuser(cli::SuperuserArgs),
    /// Print the GraphQL schema (SDL): `cargo run -- print-schema > schema.graphql`.
    PrintSchema,
    /// Validate the environment and print the effective configuration, secrets masked.
    CheckConfig,
}

#[tokio::main]
async fn main() {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    if let Command::PrintSchema = command {
        // Needs no configuration: the schema is the same for every deployment.
        print!("{}", tantana::graphql::sdl());
        return;
    }
    // A missing `.env` is normal in production.
    dotenvy::dotenv().ok();
    if let Err(error) = run(command).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    match command {
        Command::Serve | Command::PrintSchema => serve(config).await,
        Command::Migrate { command } => cli::migrate(&config, command).await,
        Command::Createsuperuser(args) => cli::create_superuser_command(config, args).await,
        Command::CheckConfig => {
            println!("{}", cli::describe_config(&config));
            println!("configuration is valid");
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let _flush_logs_on_exit = logging::init(&config);
    if config.secret_key_is_random {
        tracing::warn!(
            "SECRET_KEY is not set: using a random key. Tokens and OTP sessions will not survive a \
             restart and will not work across instances. Set SECRET_KEY in production."
        );
    }
    let bind = config.bind;
    let mut limits = server::Limits::from(&config.http);
    if let Some(open_files) = server::raise_open_files_limit() {
        // Past the descriptor limit `accept` fails with EMFILE for everyone; under it, the
        // clients over the cap wait in the listen backlog until a connection closes.
        let room = open_files.saturating_sub(server::RESERVED_FILES).max(1);
        if limits.max_connections > room {
            tracing::warn!(
                configured = limits.max_connections,
                open_files,
                "HTTP_MAX_CONNECTIONS lowered to {room} to fit the open files limit"
            );
            limits.max_connections = room;
        }
    }
    // With DEBUG=false `/metrics` is not on the public port but here (contract §4).
    let metrics_bind = (!config.debug).then_some(config.metrics_bind);
    let state = AppState::connect(config).await?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let metrics = match metrics_bind {
        Some(metrics_bind) => {
            let listener = tokio::net::TcpListener::bind(metrics_bind)
                .await
                .with_context(|| format!("cannot listen on METRICS_BIND {metrics_bind}"))?;
            let metrics_limits = server::Limits { max_connections: METRICS_MAX_CONNECTIONS, ..limits };
            let scrapes = server::serve(listener, metrics_app(state.clone()), metrics_limits, std::future::pending());
            tracing::info!(bind = %metrics_bind, "serving /metrics");
            Some(tokio::spawn(scrapes))
        }
        None => None,
    };
    tracing::info!(%bind, store = state.store.kind(), "Tantana Auth is serving");
    server::serve(listener, app(state), limits, shutdown_signal()).await;
    // Scrapes need no draining: the listener goes with the public one.
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(())
}

/// Scrapers are few (Prometheus, an agent): the public port's cap would be far too many.
const METRICS_MAX_CONNECTIONS: usize = 16;

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
