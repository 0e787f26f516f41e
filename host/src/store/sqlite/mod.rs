//! The SQLite backend: one file in WAL mode, the embedded default.
//!
//! Timestamps are INTEGER unix milliseconds. Multi-statement writes start
//! with `BEGIN IMMEDIATE` so two writers queue on `busy_timeout` instead of
//! failing when a read lock cannot be upgraded.

#![allow(
    clippy::duplicate_mod,
    reason = "both backends compile the shared query files in store/sql/, by design"
)]

mod batch;
mod direct;
mod leads;
mod leases;
mod working_set;

// The queries both backends share (`store/sql/`), compiled here against
// SQLite's `Db`, `DbRow` and `DbStore` (below).
crate::store::sql::shared_queries!();

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::store::{Backend, Store, StoreResult};

/// How long a statement waits for another connection's write lock. Imports
/// hold the lock for one 500-row batch at a time (milliseconds), so 10 s
/// only trips when something is really stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections in the pool: readers run in parallel under WAL, writers
/// queue on the file lock anyway, and the machine is small.
const MAX_CONNECTIONS: u32 = 4;

/// A [`Store`] on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database `url` names
    /// (`sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`), in WAL mode
    /// with foreign keys on. Does not migrate: see [`SqliteStore::migrate`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode and
            // only risks the last transactions on power loss.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let in_memory = url.contains(":memory:");
        // `cam.db` beside a config in a folder that does not exist yet.
        let parent = options.get_filename().parent().map(std::path::Path::to_path_buf);
        if let Some(parent) = parent.filter(|p| !in_memory && !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(sqlx::Error::Io)?;
        }
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives as long as a connection to it.
            .max_connections(if in_memory { 1 } else { MAX_CONNECTIONS })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    /// Applies pending migrations from `migrations/sqlite`.
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("../migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The database the shared query files compile against.
type Db = sqlx::Sqlite;
/// A row of [`Db`].
type DbRow = sqlx::sqlite::SqliteRow;
/// The store the shared query files implement the aggregate traits for.
type DbStore = SqliteStore;

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

/// Starts a transaction that writes: `BEGIN IMMEDIATE` takes the write lock
/// up front, so two writers queue on `busy_timeout` instead of failing when
/// a read lock cannot be upgraded.
async fn begin_write(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Serializes writers of one plugin's key-value data inside `tx`: nothing
/// to do, [`begin_write`] already holds SQLite's one write lock.
async fn lock_plugin_kv(tx: &mut sqlx::Transaction<'static, Db>, tenant: &str, plugin: &str) -> StoreResult<()> {
    let _ = (tx, tenant, plugin);
    Ok(())
}

/// SQL merging the JSON object `patch` into `column` (new keys win).
fn merge_json(column: &str, patch: &str) -> String {
    format!("json_patch({column}, {patch})")
}

/// A no-op: SQLite's one worker polls for plugin changes.
async fn announce_plugin_change(pool: &SqlitePool, tenant: &str, name: &str) -> StoreResult<()> {
    let _ = (pool, tenant, name);
    Ok(())
}
