//! Storage, split by aggregate: tenants, campaigns, leads, suppressions,
//! outbound and inbound mail, daily metrics, alerts, plugin key-value data, plugin
//! versions, cycle reports and worker leases. Each aggregate is one small
//! trait (`store/<aggregate>.rs`); [`Store`] is the one handle callers hold
//! (`Arc<dyn Store>` from [`open`]), a supertrait of them all.
//!
//! Every method is scoped to a tenant: a row of another tenant is never
//! read, changed or counted, and looks exactly like a missing row
//! ([`StoreError::NotFound`]).
//!
//! One column encoding for both backends: timestamps are BIGINT unix
//! milliseconds, booleans bind as `bool`, JSON goes through
//! `sqlx::types::Json`, placeholders are `$N`. So each aggregate's queries
//! are written once, in `store/sql/<aggregate>.rs`, and compiled twice: the
//! SQLite and PostgreSQL modules each include those files (`#[path]`) with
//! their own `Db`, `DbRow` and `DbStore` in scope. Backend-specific code
//! lives in `store/sqlite/` and `store/postgres/` only where it is measured
//! to pay (the direct SQLite bulk paths through rusqlite, PostgreSQL's
//! `UNNEST` batches and `FOR UPDATE SKIP LOCKED`) or where the databases
//! really differ (`NOTIFY`, JSON merge, the kv quota lock); the shared file
//! forwards those methods to the backend's module of the same name.
//!
//! A new plain query touches three files: its aggregate's trait
//! (`store/<aggregate>.rs`), its one implementation
//! (`store/sql/<aggregate>.rs`) and its conformance test.
//!
//! Both backends pass the same conformance suite (`store::conformance`).
//! Queries are checked at run time (`sqlx::query` + `bind`) so builds need no
//! database. Schema changes are forward-only migrations in
//! `migrations/sqlite/` and `migrations/postgres/`, applied by [`open`] and
//! [`migrate`].

mod alerts;
mod campaigns;
mod error;
mod inbound;
mod kv;
mod leads;
mod leases;
mod metrics;
mod outbound;
pub mod plugin_controls;
mod plugins;
mod postgres;
mod reports;
mod shared;
pub mod snapshots;
mod sql;
mod sqlite;
mod suppressions;
mod tenants;
#[doc(hidden)]
pub mod testing;
mod tokens;

#[cfg(test)]
mod conformance;

use std::sync::Arc;

pub use alerts::Alerts;
pub use campaigns::Campaigns;
pub use inbound::{Inbound, InboundFilter, ReplyRelabel};
pub use kv::PluginKv;
pub use leads::{BatchOutcome, EnrichmentUpdate, InsertOutcome, LeadFilter, Leads, ScoreUpdate};
pub use leases::{Claimable, Leases};
pub use metrics::{DailyMetrics, DayActivity};
pub use outbound::Outbound;
pub use plugins::PluginVersions;
pub use reports::CycleReports;
pub use suppressions::Suppressions;
pub use tenants::{SettingsRevision, StoredSettings, Tenants};
pub use tokens::ApiTokens;

pub use error::{StoreError, StoreResult};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// `use crate::store::prelude::*` brings [`Store`] and every aggregate trait
/// into scope, for code that calls them on a concrete store type.
pub mod prelude {
    pub use super::{
        Alerts, ApiTokens, Campaigns, CycleReports, DailyMetrics, Inbound, Leads, Leases, Outbound, PluginKv,
        PluginVersions, Store, Suppressions, Tenants,
    };
}

/// The PostgreSQL `LISTEN/NOTIFY` channel on which plugin version changes
/// are announced (payload `tenant/name`).
pub const PLUGIN_CHANGES_CHANNEL: &str = "cam_plugin_changes";

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The result of an idempotent insert: a new row, or the row that was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// Inserted now; the new row id.
    New(i64),
    /// Already there (same key); the existing row id. Nothing was changed.
    Existing(i64),
}

impl Insertion {
    /// The row id either way.
    pub fn id(self) -> i64 {
        match self {
            Insertion::New(id) | Insertion::Existing(id) => id,
        }
    }

    /// Whether this call created the row.
    pub fn is_new(self) -> bool {
        matches!(self, Insertion::New(_))
    }
}

/// The storage the whole system shares: one handle over every aggregate's
/// trait. See the module docs for the rules. On an `Arc<dyn Store>` (or a
/// `T: Store`) every aggregate's methods are callable with only `Store` in
/// scope; code holding a concrete [`SqliteStore`] or [`PostgresStore`]
/// imports `crate::store::prelude::*`.
pub trait Store:
    Tenants
    + Campaigns
    + Leads
    + Suppressions
    + Outbound
    + Inbound
    + Alerts
    + PluginKv
    + PluginVersions
    + CycleReports
    + Leases
    + ApiTokens
    + DailyMetrics
    + snapshots::Snapshots
    + plugin_controls::PluginControls
    + Send
    + Sync
{
    /// Which backend this is.
    fn backend(&self) -> Backend;
}

/// Opens the store `url` names, creating the SQLite file if missing, and
/// applies pending migrations.
///
/// Accepted: `sqlite://PATH`, `sqlite:PATH` (SQLite, WAL mode) and
/// `postgres://...` / `postgresql://...`.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context as _;
    match backend_of(url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(url)
                .await
                .with_context(|| format!("opening SQLite database {}", redact(url)))?;
            store.migrate().await.context("migrating the SQLite database")?;
            Ok(Arc::new(store))
        }
        Backend::Postgres => {
            let store = PostgresStore::connect(url)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
            store.migrate().await.context("migrating the PostgreSQL database")?;
            Ok(Arc::new(store))
        }
    }
}

/// Applies pending migrations to the database `url` names (`cam migrate`).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    open(url).await.map(drop)
}

/// Which backend a URL names.
pub fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl { url: redact(url) })
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend_and_others_are_refused() {
        assert_eq!(backend_of("sqlite://cam.db").ok(), Some(Backend::Sqlite));
        assert_eq!(backend_of("sqlite:cam.db").ok(), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert_eq!(backend_of("postgresql://u@h/db").ok(), Some(Backend::Postgres));
        let refused = backend_of("mysql://root:hunter2@h/db");
        assert!(matches!(refused, Err(StoreError::UnsupportedUrl { .. })));
        assert!(!refused.unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        let redacted = redact("postgres://cam:s3cret@db.internal:5432/cam");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(redacted.contains("db.internal"));
        assert_eq!(redact("sqlite://cam.db"), "sqlite://cam.db");
    }

    #[tokio::test]
    async fn opening_twice_creates_missing_folders_and_migrates_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("new/folder/cam.db").display());
        let store = open(&url).await.expect("first open");
        store.ensure_tenant("default", "Default").await.expect("tenant");
        drop(store);
        migrate(&url).await.expect("migrating again is a no-op");
        let store = open(&url).await.expect("second open");
        assert_eq!(store.get_tenant("default").await.expect("tenant kept").name, "Default");
    }
}
