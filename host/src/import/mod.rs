//! `cam import`: reading leads from CSV files.
//!
//! The reader streams: it holds one record at a time, with each field and
//! the column count capped, so a file of any size (or shape) reads in flat
//! memory. On its own it also rejects addresses repeated within the file,
//! with a set that keeps a 16-byte entry per distinct address;
//! [`import_leads`] turns that set off and lets the database's unique index
//! catch repeats, so an import keeps nothing per row (see
//! `docs/BENCHMARKS.md` for measured peaks). Columns are mapped by header ([`columns`]), each
//! record becomes a [`RowOutcome`] ([`row`]), and bad content rejects only
//! its own row, with the physical line number and a reason, while every good
//! row is kept.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cam::import::{ImportOptions, ImportReport, LeadImport, RowOutcome, BATCH_SIZE};
//!
//! let file = std::fs::File::open("examples/leads.csv")?;
//! let mut import = LeadImport::new(file, ImportOptions::default())?;
//! let mut report = ImportReport::default();
//! let mut batch = Vec::with_capacity(BATCH_SIZE);
//! while let Some(outcome) = import.next() {
//!     let outcome = outcome?;
//!     report.record(&outcome);
//!     match outcome {
//!         RowOutcome::Accepted { row, .. } => batch.push(row),
//!         RowOutcome::Rejected { line, reason } => eprintln!("line {line}: {reason}"),
//!     }
//!     if batch.len() == BATCH_SIZE {
//!         // store.insert_leads(&batch)?; progress.set_position(import.bytes_read());
//!         batch.clear();
//!     }
//! }
//! // store.insert_leads(&batch)?; (the last, partial batch)
//! eprintln!("{report}");
//! # Ok(()) }
//! ```
//!
//! Deduplication here is within the file; against the tenant's existing
//! leads it happens in the store (an insert that ignores known addresses),
//! which also makes re-importing the same file change nothing. A real
//! import ([`import_leads`]) leaves both to the store ([`into_store`]).

pub mod columns;
pub mod into_store;
mod reader;
mod record;
pub mod row;
mod seen;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use columns::{ColumnPlan, ColumnWarning, LeadField, parse_mapping_entry};
pub use into_store::{
    ImportRunError, ImportSummary, ImportTarget, MAX_LISTED_REJECTIONS, RejectedRow, import_leads,
    import_leads_streaming, import_origin, import_source_version, load_suppression_list,
};
pub use reader::{DEFAULT_MAX_FIELD_BYTES, ImportError, ImportOptions, LeadImport};
pub use record::MAX_COLUMNS;
pub use row::{ImportRow, RejectReason, RowOutcome};

/// How many rows to hand to the store per insert: large enough that a
/// round trip per batch is negligible, small enough that a transaction
/// stays short and progress moves smoothly.
pub const BATCH_SIZE: usize = 500;

/// Counts of what an import did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read (header excluded).
    pub rows: u64,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows rejected, by [`RejectReason::kind`].
    pub rejected: BTreeMap<&'static str, u64>,
}

impl ImportReport {
    /// Counts one outcome.
    pub fn record(&mut self, outcome: &RowOutcome) {
        self.rows += 1;
        match outcome {
            RowOutcome::Accepted { .. } => self.accepted += 1,
            RowOutcome::Rejected { reason, .. } => {
                *self.rejected.entry(reason.kind()).or_default() += 1;
            }
        }
    }

    /// All rejected rows.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows: {} accepted, {} rejected",
            self.rows,
            self.accepted,
            self.rejected_total()
        )?;
        let mut sep = " (";
        for (kind, n) in &self.rejected {
            write!(f, "{sep}{n} {kind}")?;
            sep = ", ";
        }
        if !self.rejected.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}
