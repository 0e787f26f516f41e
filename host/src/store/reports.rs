//! Finished cycles' reports.
//!
//! The trait is implemented once for both backends, in `store/sql/reports.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::{CycleReportRecord, NewCycleReport};
use crate::store::StoreResult;

/// Finished cycles' reports.
#[async_trait]
pub trait CycleReports: Send + Sync {
    /// Stores a finished cycle's report.
    async fn insert_cycle_report(&self, tenant: &str, report: &NewCycleReport) -> StoreResult<i64>;
    /// Newest reports first, optionally for one campaign.
    async fn recent_cycle_reports(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<CycleReportRecord>>;
}
