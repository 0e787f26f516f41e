//! Cycle reports, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::types::Json;

use super::DbStore;
use crate::domain::model::{CycleReportRecord, NewCycleReport};
use crate::store::shared::{from_ms, ms};
use crate::store::{CycleReports, StoreResult};

#[async_trait]
impl CycleReports for DbStore {
    async fn insert_cycle_report(&self, tenant: &str, r: &NewCycleReport) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO cycle_reports (tenant_id, campaign_id, started_at, finished_at, summary, report) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tenant)
        .bind(r.campaign_id)
        .bind(ms(r.started_at))
        .bind(ms(r.finished_at))
        .bind(&r.summary)
        .bind(Json(&r.report))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn recent_cycle_reports(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<CycleReportRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, campaign_id, started_at, finished_at, summary, report FROM cycle_reports \
             WHERE tenant_id = $1 AND ($2 IS NULL OR campaign_id = $2) \
             ORDER BY started_at DESC, id DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(campaign_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CycleReportRecord {
                    id: row.try_get("id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    report: NewCycleReport {
                        campaign_id: row.try_get("campaign_id")?,
                        started_at: from_ms("cycle_reports.started_at", row.try_get("started_at")?)?,
                        finished_at: from_ms("cycle_reports.finished_at", row.try_get("finished_at")?)?,
                        summary: row.try_get("summary")?,
                        report: row.try_get::<Json<_>, _>("report")?.0,
                    },
                })
            })
            .collect()
    }
}
