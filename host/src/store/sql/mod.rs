//! The queries both backends share, one file per aggregate.
//!
//! These files are not modules of `store::sql`: each backend compiles every
//! one of them inside itself ([`shared_queries!`]), with its own `Db` (the
//! sqlx database), `DbRow` and `DbStore` (its store type) in scope as
//! `super::…`, and implements the aggregate traits for its store from them.
//! With one column encoding (BIGINT unix milliseconds, `bool`,
//! `sqlx::types::Json`, `$N` placeholders), a plain query's SQL and Rust is
//! written once here. What a backend does its own way is reached through
//! `super::…` too, with the same name in both backends:
//!
//! - `begin_write(pool)`: a transaction that writes (`BEGIN IMMEDIATE` on SQLite);
//! - `lock_plugin_kv(tx, tenant, plugin)`: serializes one plugin's kv writers;
//! - `merge_json(column, patch)`: SQL merging a JSON object into a column;
//! - `announce_plugin_change(pool, tenant, name)`: `NOTIFY` or nothing;
//! - `leads::…`, `batch::…`, `leases::claim_next`: the bulk paths measured to
//!   pay (SQLite's direct rusqlite path; PostgreSQL's `UNNEST` batches and
//!   `FOR UPDATE SKIP LOCKED`).

/// Compiles every shared query file inside the invoking backend module
/// (`store/sqlite/mod.rs`, `store/postgres/mod.rs`).
macro_rules! shared_queries {
    () => {
        #[path = "../sql/alerts.rs"]
        mod sql_alerts;
        #[path = "../sql/campaigns.rs"]
        mod sql_campaigns;
        #[path = "../sql/inbound.rs"]
        mod sql_inbound;
        #[path = "../sql/kv.rs"]
        mod sql_kv;
        #[path = "../sql/leads.rs"]
        mod sql_leads;
        #[path = "../sql/leases.rs"]
        mod sql_leases;
        #[path = "../sql/metrics.rs"]
        mod sql_metrics;
        #[path = "../sql/outbound.rs"]
        mod sql_outbound;
        #[path = "../sql/plugin_controls.rs"]
        mod sql_plugin_controls;
        #[path = "../sql/plugins.rs"]
        mod sql_plugins;
        #[path = "../sql/reports.rs"]
        mod sql_reports;
        #[path = "../sql/snapshots.rs"]
        mod sql_snapshots;
        #[path = "../sql/suppressions.rs"]
        mod sql_suppressions;
        #[path = "../sql/tenants.rs"]
        mod sql_tenants;
        #[path = "../sql/tokens.rs"]
        mod sql_tokens;
    };
}
pub(super) use shared_queries;
