//! Worker leases on SQLite. Every operation is one statement, so SQLite's
//! single write lock makes each check-and-take atomic.

use std::time::Duration;

use chrono::Utc;
use sqlx::{Row, SqlitePool};

use super::{from_ms, ms};
use crate::domain::model::Lease;
use crate::store::shared::expiry;
use crate::store::{StoreError, StoreResult};

pub(super) async fn try_acquire(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    worker_id: &str,
    ttl: Duration,
) -> StoreResult<bool> {
    let now = Utc::now();
    // Taking through a SELECT of the tenant's campaign keeps other tenants out;
    // the upsert's WHERE only overwrites an expired lease or our own.
    let result = sqlx::query(
        "INSERT INTO leases (campaign_id, tenant_id, worker_id, acquired_at, expires_at) \
         SELECT id, tenant_id, $3, $4, $5 FROM campaigns WHERE tenant_id = $1 AND id = $2 \
         ON CONFLICT (campaign_id) DO UPDATE SET worker_id = excluded.worker_id, \
         acquired_at = CASE WHEN leases.worker_id = excluded.worker_id THEN leases.acquired_at \
                            ELSE excluded.acquired_at END, \
         expires_at = excluded.expires_at \
         WHERE leases.expires_at < $4 OR leases.worker_id = excluded.worker_id",
    )
    .bind(tenant)
    .bind(campaign_id)
    .bind(worker_id)
    .bind(ms(now))
    .bind(ms(expiry(now, ttl)))
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
    pool: &SqlitePool,
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
            .bind(ms(expiry(Utc::now(), ttl)))
            .execute(pool)
            .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn release(pool: &SqlitePool, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()> {
    // Expire rather than delete: `acquired_at` keeps the claim order fair.
    sqlx::query("UPDATE leases SET expires_at = 0 WHERE tenant_id = $1 AND campaign_id = $2 AND worker_id = $3")
        .bind(tenant)
        .bind(campaign_id)
        .bind(worker_id)
        .execute(pool)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "store.claim_next_campaign", skip_all, fields(worker_id = %worker_id))]
pub(super) async fn claim_next(pool: &SqlitePool, worker_id: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
    let now = Utc::now();
    // Least recently leased first (never-leased campaigns before all), so
    // campaigns take turns. The upsert's WHERE re-checks expiry under the lock.
    let row = sqlx::query(
        "INSERT INTO leases (campaign_id, tenant_id, worker_id, acquired_at, expires_at) \
         SELECT c.id, c.tenant_id, $1, $2, $3 FROM campaigns c \
         LEFT JOIN leases l ON l.campaign_id = c.id \
         WHERE c.status = 'RUNNING' AND (l.campaign_id IS NULL OR l.expires_at < $2) \
         ORDER BY COALESCE(l.acquired_at, 0), c.id LIMIT 1 \
         ON CONFLICT (campaign_id) DO UPDATE SET worker_id = excluded.worker_id, \
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE leases.expires_at < $2 \
         RETURNING tenant_id, campaign_id, worker_id, acquired_at, expires_at",
    )
    .bind(worker_id)
    .bind(ms(now))
    .bind(ms(expiry(now, ttl)))
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Lease {
            tenant_id: row.try_get("tenant_id")?,
            campaign_id: row.try_get("campaign_id")?,
            worker_id: row.try_get("worker_id")?,
            acquired_at: from_ms("leases.acquired_at", row.try_get("acquired_at")?)?,
            expires_at: from_ms("leases.expires_at", row.try_get("expires_at")?)?,
        })
    })
    .transpose()
}
