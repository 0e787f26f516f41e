//! Plugin controls, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::DbStore;
use crate::store::StoreResult;
use crate::store::plugin_controls::{HealthReport, PluginControls, StoredShadowRecord};
use crate::store::shared::{from_ms, ms};

#[async_trait]
impl PluginControls for DbStore {
    async fn set_plugin_shadow(&self, tenant: &str, name: &str, sha256: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO plugin_controls (tenant_id, name, shadow_sha256) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET shadow_sha256 = excluded.shadow_sha256",
        )
        .bind(tenant)
        .bind(name)
        .bind(sha256)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn plugin_shadows(&self, tenant: &str) -> StoreResult<BTreeMap<String, String>> {
        let rows = sqlx::query(
            "SELECT name, shadow_sha256 FROM plugin_controls WHERE tenant_id = $1 AND shadow_sha256 IS NOT NULL",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("shadow_sha256")?)))
            .collect()
    }

    async fn request_plugin_release(&self, tenant: &str, name: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO plugin_controls (tenant_id, name, release_requested_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET release_requested_at = excluded.release_requested_at",
        )
        .bind(tenant)
        .bind(name)
        .bind(ms(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn plugin_release_requests(&self, tenant: &str) -> StoreResult<BTreeMap<String, DateTime<Utc>>> {
        let rows = sqlx::query(
            "SELECT name, release_requested_at FROM plugin_controls \
             WHERE tenant_id = $1 AND release_requested_at IS NOT NULL",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let at: i64 = row.try_get("release_requested_at")?;
                Ok((row.try_get("name")?, from_ms("plugin_controls.release_requested_at", at)?))
            })
            .collect()
    }

    async fn report_plugin_health(&self, tenant: &str, reports: &[HealthReport]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for report in reports {
            sqlx::query(
                "INSERT INTO plugin_health (tenant_id, name, sha256, worker_id, calls, failures, \
                 consecutive_failures, quarantined, last_failure, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (tenant_id, name, sha256, worker_id) DO UPDATE SET calls = excluded.calls, \
                 failures = excluded.failures, consecutive_failures = excluded.consecutive_failures, \
                 quarantined = excluded.quarantined, last_failure = excluded.last_failure, \
                 updated_at = excluded.updated_at",
            )
            .bind(tenant)
            .bind(&report.name)
            .bind(&report.sha256)
            .bind(&report.worker_id)
            .bind(i64::try_from(report.calls).unwrap_or(i64::MAX))
            .bind(i64::try_from(report.failures).unwrap_or(i64::MAX))
            .bind(i64::from(report.consecutive_failures))
            .bind(report.quarantined)
            .bind(report.last_failure.as_deref())
            .bind(ms(report.updated_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn plugin_health(&self, tenant: &str) -> StoreResult<Vec<HealthReport>> {
        let rows = sqlx::query(
            "SELECT name, sha256, worker_id, calls, failures, consecutive_failures, quarantined, last_failure, \
             updated_at FROM plugin_health WHERE tenant_id = $1 ORDER BY name, sha256, worker_id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let count = |column: &str| -> StoreResult<u64> {
                    let value: i64 = row.try_get(column)?;
                    Ok(u64::try_from(value).unwrap_or(0))
                };
                Ok(HealthReport {
                    name: row.try_get("name")?,
                    sha256: row.try_get("sha256")?,
                    worker_id: row.try_get("worker_id")?,
                    calls: count("calls")?,
                    failures: count("failures")?,
                    consecutive_failures: u32::try_from(count("consecutive_failures")?).unwrap_or(u32::MAX),
                    quarantined: row.try_get("quarantined")?,
                    last_failure: row.try_get("last_failure")?,
                    updated_at: from_ms("plugin_health.updated_at", row.try_get("updated_at")?)?,
                })
            })
            .collect()
    }

    async fn record_shadow(&self, tenant: &str, records: &[StoredShadowRecord]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for record in records {
            sqlx::query(
                "INSERT INTO shadow_records (tenant_id, name, at, input, active_version, active_output, \
                 candidate_version, candidate_output, agree) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(tenant)
            .bind(&record.name)
            .bind(ms(record.at))
            .bind(&record.input)
            .bind(&record.active_version)
            .bind(&record.active_output)
            .bind(&record.candidate_version)
            .bind(&record.candidate_output)
            .bind(record.agree)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn shadow_records(&self, tenant: &str, name: &str, limit: u32) -> StoreResult<Vec<StoredShadowRecord>> {
        let rows = sqlx::query(
            "SELECT name, at, input, active_version, active_output, candidate_version, candidate_output, agree \
             FROM shadow_records WHERE tenant_id = $1 AND name = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(name)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut records = rows
            .iter()
            .map(|row| {
                Ok(StoredShadowRecord {
                    at: from_ms("shadow_records.at", row.try_get("at")?)?,
                    name: row.try_get("name")?,
                    input: row.try_get("input")?,
                    active_version: row.try_get("active_version")?,
                    active_output: row.try_get("active_output")?,
                    candidate_version: row.try_get("candidate_version")?,
                    candidate_output: row.try_get("candidate_output")?,
                    agree: row.try_get("agree")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        records.reverse();
        Ok(records)
    }

    async fn clear_shadow_records(&self, tenant: &str, name: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM shadow_records WHERE tenant_id = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
