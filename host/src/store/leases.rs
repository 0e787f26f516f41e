//! Worker leases on campaigns.
//!
//! The trait is implemented once for both backends, in `store/sql/leases.rs`
//! (see [`crate::store`]).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
    /// Claims a RUNNING campaign of an enabled tenant, within `which`,
    /// whose lease is free or expired. Tenants take turns: the campaign
    /// comes from the tenant served least recently, and within it from the
    /// campaign leased least recently. Concurrent claimers never get the
    /// same one.
    async fn claim_next_campaign(
        &self,
        worker_id: &str,
        ttl: Duration,
        which: Claimable<'_>,
    ) -> StoreResult<Option<Lease>>;
}

/// Which campaigns a claim may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimable<'a> {
    /// Only this tenant's campaigns; `None`: every enabled tenant's.
    pub tenant: Option<&'a str>,
    /// Only campaigns not leased since this instant. A worker passes the
    /// start of its round, so each campaign gets one cycle per round.
    pub not_leased_since: DateTime<Utc>,
}

impl<'a> Claimable<'a> {
    /// Any enabled tenant's campaign not leased since now.
    pub fn any_tenant() -> Self {
        Claimable {
            tenant: None,
            not_leased_since: Utc::now(),
        }
    }

    /// Only `tenant`'s campaigns not leased since now.
    pub fn of_tenant(tenant: &'a str) -> Self {
        Claimable {
            tenant: Some(tenant),
            not_leased_since: Utc::now(),
        }
    }
}
