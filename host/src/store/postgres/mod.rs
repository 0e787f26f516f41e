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

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use crate::store::testing::PostgresDatabase;

    /// Migration 0004 keeps every stored instant, as unix milliseconds
    /// (rounded down, as `DateTime::timestamp_millis` does), and leaves no
    /// TIMESTAMPTZ column behind.
    #[tokio::test]
    async fn migration_0004_keeps_stored_instants_as_unix_milliseconds() {
        let Some(database) = PostgresDatabase::create("cam_migration_test").await else {
            return;
        };
        let mut db = sqlx::PgConnection::connect(&database.url).await.expect("connecting");
        for released in [
            include_str!("../../../../migrations/postgres/0001_initial.sql"),
            include_str!("../../../../migrations/postgres/0002_plugin_blobs.sql"),
            include_str!("../../../../migrations/postgres/0003_alert_attempts.sql"),
        ] {
            sqlx::raw_sql(released)
                .execute(&mut db)
                .await
                .expect("a released migration");
        }
        sqlx::raw_sql(
            "INSERT INTO tenants VALUES ('t', 'T', '2026-01-02 03:04:05.678987+00'); \
             INSERT INTO campaigns (tenant_id, name, goal_qualified, daily_cap, score_threshold, config, \
             status, status_reason, status_actor, status_changed_at, created_at) \
             VALUES ('t', 'c', 1, 1, 0, '{}', 'RUNNING', '', '', '1969-12-31 23:59:59.9995+00', now()); \
             INSERT INTO leases VALUES (1, 't', 'w', 'epoch', '2026-01-02 03:04:05.678+00');",
        )
        .execute(&mut db)
        .await
        .expect("rows stored before the migration");
        sqlx::raw_sql(include_str!("../../../../migrations/postgres/0004_unix_millis.sql"))
            .execute(&mut db)
            .await
            .expect("migration 0004");
        let created: i64 = sqlx::query_scalar("SELECT created_at FROM tenants")
            .fetch_one(&mut db)
            .await
            .expect("tenant");
        assert_eq!(created, 1_767_323_045_678);
        let changed: i64 = sqlx::query_scalar("SELECT status_changed_at FROM campaigns")
            .fetch_one(&mut db)
            .await
            .expect("campaign");
        assert_eq!(changed, -1, "before 1970 rounds down too");
        let lease: (i64, i64) = sqlx::query_as("SELECT acquired_at, expires_at FROM leases")
            .fetch_one(&mut db)
            .await
            .expect("lease");
        assert_eq!(lease, (0, 1_767_323_045_678));
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type LIKE 'timestamp%'",
        )
        .fetch_one(&mut db)
        .await
        .expect("columns");
        assert_eq!(left, 0);
        db.close().await.expect("closing");
    }
}
