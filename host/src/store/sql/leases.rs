//! Worker leases, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]). Exclusivity
//! comes from the conditional upsert (only an expired lease or our own is
//! overwritten). Claiming the next campaign is the backend's own: one
//! statement under SQLite's single write lock, `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL so concurrent claimers spread over campaigns.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::Lease;
use crate::store::shared::{expiry, from_ms, ms};
use crate::store::{Claimable, Leases, StoreError, StoreResult};

/// A `RETURNING tenant_id, campaign_id, worker_id, acquired_at, expires_at` row.
/// The campaigns a claim may take, best first, as SQL after `SELECT c.id,
/// c.tenant_id`; both backends' `claim_next` use it. `$N` placeholders:
/// `{now}` the current instant, `{since}` [`Claimable::not_leased_since`],
/// `{tenant}` [`Claimable::tenant`]. Tenants take turns (the one served
/// least recently first), then campaigns within a tenant.
pub(super) fn claim_candidates(now: u8, since: u8, tenant: u8) -> String {
    format!(
        "FROM campaigns c \
         JOIN tenants t ON t.id = c.tenant_id AND t.disabled_at IS NULL \
         LEFT JOIN leases l ON l.campaign_id = c.id \
         WHERE c.status = 'RUNNING' \
         AND (l.campaign_id IS NULL OR (l.expires_at < ${now} AND l.acquired_at < ${since})) \
         AND (${tenant} IS NULL OR c.tenant_id = ${tenant}) \
         ORDER BY COALESCE((SELECT MAX(s.acquired_at) FROM leases s WHERE s.tenant_id = c.tenant_id), 0), \
         COALESCE(l.acquired_at, 0), c.id"
    )
}

pub(super) fn lease_from_row(row: &DbRow) -> StoreResult<Lease> {
    Ok(Lease {
        tenant_id: row.try_get("tenant_id")?,
        campaign_id: row.try_get("campaign_id")?,
        worker_id: row.try_get("worker_id")?,
        acquired_at: from_ms("leases.acquired_at", row.try_get("acquired_at")?)?,
        expires_at: from_ms("leases.expires_at", row.try_get("expires_at")?)?,
    })
}

#[async_trait]
impl Leases for DbStore {
    async fn try_acquire_lease(
        &self,
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
        .execute(&self.pool)
        .await?;
        if result.rows_affected() > 0 {
            return Ok(true);
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(campaign_id)
            .fetch_optional(&self.pool)
            .await?;
        match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::not_found("campaign", campaign_id)),
        }
    }

    async fn renew_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str, ttl: Duration) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE leases SET expires_at = $4 WHERE tenant_id = $1 AND campaign_id = $2 AND worker_id = $3",
        )
        .bind(tenant)
        .bind(campaign_id)
        .bind(worker_id)
        .bind(ms(expiry(Utc::now(), ttl)))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn release_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()> {
        // Expire rather than delete: `acquired_at` keeps the claim order fair.
        sqlx::query("UPDATE leases SET expires_at = 0 WHERE tenant_id = $1 AND campaign_id = $2 AND worker_id = $3")
            .bind(tenant)
            .bind(campaign_id)
            .bind(worker_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_next_campaign(
        &self,
        worker_id: &str,
        ttl: Duration,
        which: Claimable<'_>,
    ) -> StoreResult<Option<Lease>> {
        super::leases::claim_next(&self.pool, worker_id, ttl, which).await
    }
}
