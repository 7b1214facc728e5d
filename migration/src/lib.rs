//! Schema migrations, run at start-up by the server and on demand by the `migration` binary.

pub use sea_orm_migration::prelude::*;

mod m20250101_000001_create_users_table;
mod m20250101_000002_create_token_blacklist_tables;
mod m20250101_000003_add_users_tokens_valid_after;
mod m20251205_000004_account_lifecycle;

/// Every migration of the service, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_users_table::Migration),
            Box::new(m20250101_000002_create_token_blacklist_tables::Migration),
            Box::new(m20250101_000003_add_users_tokens_valid_after::Migration),
            Box::new(m20251205_000004_account_lifecycle::Migration),
        ]
    }
}

/// What the `migrate` commands can do, shared by the `migration` binary and `tantana migrate`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (all, or the next N).
    Up {
        /// How many pending migrations to apply.
        #[arg(short, long)]
        num: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or the last N).
    Down {
        /// How many applied migrations to roll back.
        #[arg(short, long, default_value_t = 1)]
        num: u32,
    },
    /// List every migration and whether it is applied.
    Status,
}

/// Runs one migrate command against an open connection.
pub async fn run_command(
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
    command: MigrateCommand,
) -> Result<(), DbErr> {
    match command {
        MigrateCommand::Up { num } => Migrator::up(db, num).await,
        MigrateCommand::Down { num } => Migrator::down(db, Some(num)).await,
        MigrateCommand::Status => {
            for migration in Migrator::get_migration_with_status(db).await? {
                println!("{:<50} {:?}", migration.name(), migration.status());
            }
            Ok(())
        }
    }
}
