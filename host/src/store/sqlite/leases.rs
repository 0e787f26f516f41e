//! Claiming the next campaign on SQLite: one statement, so SQLite's single
//! write lock makes the check-and-take atomic (the other lease queries are
//! shared: `store/sql/leases.rs`).

use std::time::Duration;

use chrono::Utc;
use sqlx::SqlitePool;

use super::sql_leases::{claim_candidates, lease_from_row};
use crate::domain::model::Lease;
use crate::store::shared::{expiry, ms};
use crate::store::{Claimable, StoreResult};

#[tracing::instrument(name = "store.claim_next_campaign", skip_all, fields(worker_id = %worker_id))]
pub(super) async fn claim_next(
    pool: &SqlitePool,
    worker_id: &str,
    ttl: Duration,
    which: Claimable<'_>,
) -> StoreResult<Option<Lease>> {
    let now = Utc::now();
    // One statement: SQLite's single write lock makes the pick and the take
    // atomic. The upsert's WHERE re-checks expiry under the lock.
    let sql = format!(
        "INSERT INTO leases (campaign_id, tenant_id, worker_id, acquired_at, expires_at) \
         SELECT c.id, c.tenant_id, $1, $2, $3 {} LIMIT 1 \
         ON CONFLICT (campaign_id) DO UPDATE SET worker_id = excluded.worker_id, \
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE leases.expires_at < $2 \
         RETURNING tenant_id, campaign_id, worker_id, acquired_at, expires_at",
        claim_candidates(2, 4, 5)
    );
    let row = sqlx::query(&sql)
        .bind(worker_id)
        .bind(ms(now))
        .bind(ms(expiry(now, ttl)))
        .bind(ms(which.not_leased_since))
        .bind(which.tenant)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(lease_from_row).transpose()
}
