//! Worker leases on campaigns.
//!
//! The trait is implemented once for both backends, in `store/sql/leases.rs`
//! (see [`crate::store`]).

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::model::Lease;
use crate::store::StoreResult;

/// Worker leases on campaigns.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the campaign's lease if it is free, expired, or already ours.
    async fn try_acquire_lease(
        &self,
        tenant: &str,
        campaign_id: i64,
        worker_id: &str,
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Extends our lease; `false` if it is not ours any more.
    async fn renew_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str, ttl: Duration) -> StoreResult<bool>;
    /// Gives our lease up (no-op if it is not ours).
    async fn release_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()>;
    /// Claims the RUNNING campaign (any tenant) least recently leased whose
    /// lease is free or expired. Concurrent claimers never get the same one.
    async fn claim_next_campaign(&self, worker_id: &str, ttl: Duration) -> StoreResult<Option<Lease>>;
}
