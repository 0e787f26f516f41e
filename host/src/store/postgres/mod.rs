//! The PostgreSQL backend, for hosted deployments with many workers.
//!
//! Timestamps are BIGINT unix milliseconds (as on SQLite, since migration
//! 0004), JSON columns JSONB. Bulk inserts bind one
//! array per column (`UNNEST`), so a batch is one statement of constant
//! size. Work is claimed with `FOR UPDATE SKIP LOCKED`.

#![allow(
    clippy::duplicate_mod,
    reason = "both backends compile the shared query files in store/sql/, by design"
)]

mod batch;
mod leads;
mod leases;

// The queries both backends share (`store/sql/`), compiled here against
// PostgreSQL's `Db`, `DbRow` and `DbStore` (below).
crate::store::sql::shared_queries!();

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::store::{Backend, PLUGIN_CHANGES_CHANNEL, Store, StoreResult};

/// Connections per process. Each worker process runs one cycle at a time
/// plus the API; PostgreSQL's default limit is 100 connections in total.
const MAX_CONNECTIONS: u32 = 8;

/// How long to wait for a free connection before failing the call.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://...`). Does not
    /// migrate: see [`PostgresStore::migrate`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// Applies pending migrations from `migrations/postgres`. Safe to run
    /// from several workers at once: sqlx takes an advisory lock.
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("../migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection (tests drop their database afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The database the shared query files compile against.
type Db = sqlx::Postgres;
/// A row of [`Db`].
type DbRow = sqlx::postgres::PgRow;
/// The store the shared query files implement the aggregate traits for.
type DbStore = PostgresStore;

impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}

/// Starts a transaction that writes (row locks are taken as it goes).
async fn begin_write(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

/// Serializes writers of one (tenant, plugin)'s key-value data inside
/// `tx`, so two concurrent writes cannot both pass the quota check; the
/// advisory lock is released at commit.
async fn lock_plugin_kv(tx: &mut sqlx::Transaction<'static, Db>, tenant: &str, plugin: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))")
        .bind(tenant)
        .bind(plugin)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// SQL merging the JSON object `patch` into `column` (new keys win).
fn merge_json(column: &str, patch: &str) -> String {
    format!("{column} || {patch}")
}

/// `NOTIFY` on [`PLUGIN_CHANGES_CHANNEL`] with payload `tenant/name`.
async fn announce_plugin_change(pool: &PgPool, tenant: &str, name: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(PLUGIN_CHANGES_CHANNEL)
        .bind(format!("{tenant}/{name}"))
        .execute(pool)
        .await?;
    Ok(())
}
