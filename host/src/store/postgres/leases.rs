//! Claiming the next campaign on PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers spread over campaigns instead of queueing on the same
//! row (the other lease queries are shared: `store/sql/leases.rs`).

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use super::sql_leases::{claim_candidates, lease_from_row};
use crate::domain::model::Lease;
use crate::store::shared::{expiry, ms};
use crate::store::{Claimable, StoreResult};

/// How often a claimer retries when a candidate it picked was taken between
/// its read and its write; each retry sees the other's committed lease.
const CLAIM_ATTEMPTS: usize = 3;

#[tracing::instrument(name = "store.claim_next_campaign", skip_all, fields(worker_id = %worker_id))]
pub(super) async fn claim_next(
    pool: &PgPool,
    worker_id: &str,
    ttl: Duration,
    which: Claimable<'_>,
) -> StoreResult<Option<Lease>> {
    let candidate_sql = format!(
        "SELECT c.id, c.tenant_id {} LIMIT 1 FOR UPDATE OF c SKIP LOCKED",
        claim_candidates(1, 2, 3)
    );
    for _ in 0..CLAIM_ATTEMPTS {
        let now_at = Utc::now();
        let now = ms(now_at);
        let mut tx = pool.begin().await?;
        // Lock the candidate campaign row; rows other claimers hold are
        // skipped, so they each get a different campaign.
        let candidate: Option<(i64, String)> = sqlx::query_as(&candidate_sql)
            .bind(now)
            .bind(ms(which.not_leased_since))
            .bind(which.tenant)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((campaign_id, tenant)) = candidate else {
            return Ok(None);
        };
        let row = sqlx::query(
            "INSERT INTO leases (campaign_id, tenant_id, worker_id, acquired_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (campaign_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, \
             acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at \
             WHERE leases.expires_at < $4 \
             RETURNING tenant_id, campaign_id, worker_id, acquired_at, expires_at",
        )
        .bind(campaign_id)
        .bind(&tenant)
        .bind(worker_id)
        .bind(now)
        .bind(ms(expiry(now_at, ttl)))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        if let Some(row) = row {
            return lease_from_row(&row).map(Some);
        }
        // Someone committed a lease on it after our snapshot: look again.
    }
    Ok(None)
}
