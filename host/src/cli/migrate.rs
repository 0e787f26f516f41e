//! `cam migrate`: bring the configured database up to the current schema.

use std::process::ExitCode;

use crate::config::{Config, redact_url};
use crate::store;

/// Applies pending migrations to the configured database and says which
/// database it was (password redacted).
pub async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let url = redact_url(config.database_url());
    store::migrate(config.database_url()).await?;
    println!("Database {url} is up to date: every migration is applied.");
    Ok(ExitCode::SUCCESS)
}
