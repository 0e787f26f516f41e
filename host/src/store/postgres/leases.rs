//! Worker leases on PostgreSQL. Exclusivity comes from the conditional
//! upsert (only an expired lease or our own is overwritten); claiming uses
//! `FOR UPDATE SKIP LOCKED` so concurrent claimers spread over campaigns
//! instead of queueing on the same row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::domain::model::Lease;
use crate::store::shared::expiry;
use crate::store::{StoreError, StoreResult};

/// How often a claimer retries when a candidate it picked was taken between
/// its read and its write; each retry sees the other's committed lease.
const CLAIM_ATTEMPTS: usize = 3;

const UPSERT: &str = "INSERT INTO leases (campaign_id, tenant_id, worker_id, acquired_at, expires_at) \
     SELECT id, tenant_id, $3, $4, $5 FROM campaigns WHERE tenant_id = $1 AND id = $2 \
     ON CONFLICT (campaign_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, \
     acquired_at = CASE WHEN leases.worker_id = EXCLUDED.worker_id THEN leases.acquired_at \
                        ELSE EXCLUDED.acquired_at END, \
     expires_at = EXCLUDED.expires_at \
     WHERE leases.expires_at < $4 OR leases.worker_id = EXCLUDED.worker_id";

pub(super) async fn try_acquire(
    pool: &PgPool,
    tenant: &str,
    campaign_id: i64,
    worker_id: &str,
    ttl: Duration,
) -> StoreResult<bool> {
    let now = Utc::now();
    let result = sqlx::query(UPSERT)
        .bind(tenant)
        .bind(campaign_id)
        .bind(worker_id)
        .bind(now)
        .bind(expiry(now, ttl))
        .execute(pool)
        .await?;
    if result.rows_affected() > 0 {
        return Ok(true);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(campaign_id)
        .fetch_optional(pool)
        .await?;
    match exists {
        Some(_) => Ok(false),
        None => Err(StoreError::not_found("campaign", campaign_id)),
    }
}

pub(super) async fn renew(
    pool: &PgPool,
    tenant: &str,
    campaign_id: i64,
    worker_id: &str,
    ttl: Duration,
) -> StoreResult<bool> {
    let result =
        sqlx::query("UPDATE leases SET expires_at = $4 WHERE tenant_id = $1 AND campaign_id = $2 AND worker_id = $3")
            .bind(tenant)
            .bind(campaign_id)
            .bind(worker_id)
            .bind(expiry(Utc::now(), ttl))
            .execute(pool)
            .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn release(pool: &PgPool, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()> {
    // Expire rather than delete: `acquired_at` keeps the claim order fair.
    sqlx::query(
        "UPDATE leases SET expires_at = 'epoch' WHERE tenant_id = $1 AND campaign_id = $2 \
         AND worker_id = $3",
    )
    .bind(tenant)
    .bind(campaign_id)
    .bind(worker_id)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "store.claim_next_campaign", skip_all, fields(worker_id = %worker_id))]
pub(super) async fn claim_next(pool: &PgPool, worker_id: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
    for _ in 0..CLAIM_ATTEMPTS {
        let now = Utc::now();
        let mut tx = pool.begin().await?;
        // Lock the candidate campaign row; rows other claimers hold are
        // skipped, so they each get a different campaign.
        let candidate: Option<(i64, String)> = sqlx::query_as(
            "SELECT c.id, c.tenant_id FROM campaigns c \
             LEFT JOIN leases l ON l.campaign_id = c.id \
             WHERE c.status = 'RUNNING' AND (l.campaign_id IS NULL OR l.expires_at < $1) \
             ORDER BY l.acquired_at ASC NULLS FIRST, c.id \
             LIMIT 1 FOR UPDATE OF c SKIP LOCKED",
        )
        .bind(now)
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
        .bind(expiry(now, ttl))
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

fn lease_from_row(row: &PgRow) -> StoreResult<Lease> {
    Ok(Lease {
        tenant_id: row.try_get("tenant_id")?,
        campaign_id: row.try_get("campaign_id")?,
        worker_id: row.try_get("worker_id")?,
        acquired_at: row.try_get::<DateTime<Utc>, _>("acquired_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}
