//! Alerts and their delivery log, written once for both backends (included
//! by `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;

use super::DbStore;
use crate::domain::model::{Alert, AlertAttempt, NewAlert, NewAlertAttempt};
use crate::store::shared::{from_ms, from_ms_opt, ms, touched};
use crate::store::{Alerts, Insertion, StoreResult};

impl DbStore {
    /// Alerts matching `filter` (a fixed SQL condition), in `order`.
    async fn alerts_where(&self, tenant: &str, filter: &str, order: &str, limit: u32) -> StoreResult<Vec<Alert>> {
        let sql = format!(
            "SELECT id, tenant_id, idempotency_key, kind, lead_id, payload, created_at, delivered_at \
             FROM alerts WHERE tenant_id = $1 AND {filter} ORDER BY {order} LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Alert {
                    id: row.try_get("id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    alert: NewAlert {
                        idempotency_key: row.try_get("idempotency_key")?,
                        kind: row.try_get("kind")?,
                        lead_id: row.try_get("lead_id")?,
                        payload: row.try_get::<Json<_>, _>("payload")?.0,
                    },
                    created_at: from_ms("alerts.created_at", row.try_get("created_at")?)?,
                    delivered_at: from_ms_opt("alerts.delivered_at", row.try_get("delivered_at")?)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Alerts for DbStore {
    async fn insert_alert(&self, tenant: &str, a: &NewAlert) -> StoreResult<Insertion> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (tenant_id, idempotency_key, kind, lead_id, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(tenant)
        .bind(&a.idempotency_key)
        .bind(&a.kind)
        .bind(a.lead_id)
        .bind(Json(&a.payload))
        .bind(ms(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            return Ok(Insertion::New(id));
        }
        let id: i64 = sqlx::query_scalar("SELECT id FROM alerts WHERE tenant_id = $1 AND idempotency_key = $2")
            .bind(tenant)
            .bind(&a.idempotency_key)
            .fetch_one(&self.pool)
            .await?;
        Ok(Insertion::Existing(id))
    }

    async fn record_alert_attempt(&self, tenant: &str, a: &NewAlertAttempt) -> StoreResult<()> {
        let result = sqlx::query(
            "INSERT INTO alert_attempts (tenant_id, alert_id, channel, ok, detail, attempted_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM alerts WHERE tenant_id = $1 AND id = $2)",
        )
        .bind(tenant)
        .bind(a.alert_id)
        .bind(&a.channel)
        .bind(a.ok)
        .bind(&a.detail)
        .bind(ms(a.at))
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "alert", a.alert_id)
    }

    async fn alert_attempts(&self, tenant: &str, alert_id: i64) -> StoreResult<Vec<AlertAttempt>> {
        let rows = sqlx::query(
            "SELECT id, alert_id, channel, ok, detail, attempted_at FROM alert_attempts \
             WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id",
        )
        .bind(tenant)
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertAttempt {
                    id: row.try_get("id")?,
                    attempt: NewAlertAttempt {
                        alert_id: row.try_get("alert_id")?,
                        channel: row.try_get("channel")?,
                        ok: row.try_get("ok")?,
                        detail: row.try_get("detail")?,
                        at: from_ms("alert_attempts.attempted_at", row.try_get("attempted_at")?)?,
                    },
                })
            })
            .collect()
    }

    async fn undelivered_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>> {
        self.alerts_where(tenant, "delivered_at IS NULL", "id", limit).await
    }

    async fn mark_alert_delivered(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let result = sqlx::query("UPDATE alerts SET delivered_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(ms(at))
            .execute(&self.pool)
            .await?;
        touched(result.rows_affected(), "alert", id)
    }

    async fn list_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>> {
        self.alerts_where(tenant, "TRUE", "id DESC", limit).await
    }
}
