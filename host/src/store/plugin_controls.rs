//! A hosted tenant's plugin controls for the whole fleet: shadow candidates,
//! release requests, each worker's view of each version's health, and the
//! shadow comparisons the workers recorded.
//!
//! The trait is implemented once for both backends, in
//! `store/sql/plugin_controls.rs` (see [`crate::store`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::StoreResult;

/// One worker's view of one version's health.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct HealthReport {
    /// The plugin.
    pub name: String,
    /// The version's sha256.
    pub sha256: String,
    /// The worker.
    pub worker_id: String,
    /// Calls made.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Whether the worker refuses to call it.
    pub quarantined: bool,
    /// The last failure, as text.
    pub last_failure: Option<String>,
    /// When the worker reported it.
    pub updated_at: DateTime<Utc>,
}

/// One input a shadow candidate and the active version both saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredShadowRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// The plugin.
    pub name: String,
    /// The input (a lead's address, a reply's Message-ID, the campaign).
    pub input: String,
    /// The active version.
    pub active_version: String,
    /// What it answered.
    pub active_output: String,
    /// The candidate version.
    pub candidate_version: String,
    /// What it answered.
    pub candidate_output: String,
    /// Whether they decided the same.
    pub agree: bool,
}

/// A hosted tenant's plugin controls.
#[async_trait]
pub trait PluginControls: Send + Sync {
    /// Sets (`Some`) or clears (`None`) the shadow candidate of `name`.
    async fn set_plugin_shadow(&self, tenant: &str, name: &str, sha256: Option<&str>) -> StoreResult<()>;
    /// The shadow candidate of each plugin that has one, by name.
    async fn plugin_shadows(&self, tenant: &str) -> StoreResult<BTreeMap<String, String>>;
    /// Asks every worker to release `name` from quarantine.
    async fn request_plugin_release(&self, tenant: &str, name: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// When each plugin's release was last asked for.
    async fn plugin_release_requests(&self, tenant: &str) -> StoreResult<BTreeMap<String, DateTime<Utc>>>;
    /// Replaces what `reports`' worker last said of each version.
    async fn report_plugin_health(&self, tenant: &str, reports: &[HealthReport]) -> StoreResult<()>;
    /// Every worker's last report on each of the tenant's versions.
    async fn plugin_health(&self, tenant: &str) -> StoreResult<Vec<HealthReport>>;
    /// Appends shadow comparisons.
    async fn record_shadow(&self, tenant: &str, records: &[StoredShadowRecord]) -> StoreResult<()>;
    /// The newest `limit` shadow comparisons of `name`, oldest first.
    async fn shadow_records(&self, tenant: &str, name: &str, limit: u32) -> StoreResult<Vec<StoredShadowRecord>>;
    /// Forgets `name`'s shadow comparisons (after a promotion).
    async fn clear_shadow_records(&self, tenant: &str, name: &str) -> StoreResult<()>;
}
