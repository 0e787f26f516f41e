//! A copy of what one campaign's cycle reads, for a dry run that must not
//! change the campaign: read from the real store, loaded into a scratch
//! SQLite store ([`SqliteStore::load_working_set`](super::SqliteStore::load_working_set)).
//!
//! The trait is implemented once for both backends, in `store/sql/snapshots.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::StoreResult;

/// One column value, whatever the backend stored it as.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// SQL NULL.
    Null,
    /// An integer (booleans are 0 and 1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (JSON columns too).
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// The rows of one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableRows {
    /// The table.
    pub table: &'static str,
    /// Its column names, in the order of each row's cells.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<CellValue>>,
}

/// Everything one campaign's cycle reads, table by table, parents first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkingSet {
    /// The tables, in an order that keeps foreign keys satisfied.
    pub tables: Vec<TableRows>,
}

impl WorkingSet {
    /// How many rows it holds in all.
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// Reading a campaign's working set.
#[async_trait]
pub trait Snapshots: Send + Sync {
    /// What a cycle of `campaign_id` reads: the tenant and its campaigns, the
    /// campaign's leads with their transitions, emails, replies, alerts and
    /// lead-source cursors, the tenant's suppressions and plugin kv data, and
    /// — for the mailboxes' rolling caps — the tenant's emails attempted
    /// since `since` in other campaigns, with their leads.
    async fn campaign_working_set(
        &self,
        tenant: &str,
        campaign_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<WorkingSet>;
}
