//! `cargo run -p migration -- up|down|status`: migrations without starting the server.

use clap::Parser;
use migration::{MigrateCommand, run_command};
use sea_orm_migration::sea_orm::Database;

/// Default database when neither the flag nor `DATABASE_URL` names one: the server's own default.
const DEFAULT_DATABASE_URL: &str = "sqlite://tantana.sqlite3?mode=rwc";

#[derive(Parser)]
#[command(about = "Apply or roll back the Tantana Auth schema")]
struct Cli {
    /// Database to migrate.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(subcommand)]
    command: MigrateCommand,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    dotenvy::dotenv().ok();
    let cli = Cli::parse();
    let result = async {
        let db = Database::connect(&cli.database_url).await?;
        run_command(&db, cli.command).await
    }
    .await;
    if let Err(error) = result {
        eprintln!("migration failed: {error}");
        std::process::exit(1);
    }
}
