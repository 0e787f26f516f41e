//! Suppressions, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]). Looking many
//! addresses up at once is the backend's own (`json_each` on the direct
//! SQLite path, `= ANY` on PostgreSQL), as imports use it per batch.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::{Suppression, SuppressionKind, SuppressionReason};
use crate::store::shared::{from_ms, ms, normalize_email};
use crate::store::{StoreError, StoreResult, Suppressions};

#[async_trait]
impl Suppressions for DbStore {
    async fn add_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        reason: SuppressionReason,
        note: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO suppressions (tenant_id, kind, value, reason, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, kind, value) DO NOTHING",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .bind(normalize_email(value))
        .bind(reason.as_str())
        .bind(note)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn suppressed_subset(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
        super::leads::suppressed_subset(&self.pool, tenant, emails).await
    }

    async fn get_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
    ) -> StoreResult<Option<Suppression>> {
        let row = sqlx::query(
            "SELECT tenant_id, kind, value, reason, note, created_at FROM suppressions \
             WHERE tenant_id = $1 AND kind = $2 AND value = $3",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .bind(normalize_email(value))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(suppression_from_row).transpose()
    }

    async fn remove_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        why: &str,
        actor: &str,
    ) -> StoreResult<Suppression> {
        let mut tx = super::begin_write(&self.pool).await?;
        let row = sqlx::query(
            "DELETE FROM suppressions WHERE tenant_id = $1 AND kind = $2 AND value = $3 \
             RETURNING tenant_id, kind, value, reason, note, created_at",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .bind(normalize_email(value))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: "suppression",
            key: value.to_string(),
        })?;
        let removed = suppression_from_row(&row)?;
        sqlx::query(
            "INSERT INTO suppression_removals (tenant_id, kind, value, reason, note, created_at, why, actor, \
             removed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(removed.kind.as_str())
        .bind(&removed.value)
        .bind(removed.reason.as_str())
        .bind(&removed.note)
        .bind(ms(removed.created_at))
        .bind(why)
        .bind(actor)
        .bind(ms(Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn list_suppressions(&self, tenant: &str) -> StoreResult<Vec<Suppression>> {
        let rows = sqlx::query(
            "SELECT tenant_id, kind, value, reason, note, created_at FROM suppressions \
             WHERE tenant_id = $1 ORDER BY created_at DESC, value",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(suppression_from_row).collect()
    }
}

fn suppression_from_row(row: &DbRow) -> StoreResult<Suppression> {
    let kind: String = row.try_get("kind")?;
    let reason: String = row.try_get("reason")?;
    Ok(Suppression {
        tenant_id: row.try_get("tenant_id")?,
        kind: SuppressionKind::parse(&kind).ok_or_else(|| StoreError::corrupt("suppressions.kind", &kind))?,
        value: row.try_get("value")?,
        reason: SuppressionReason::parse(&reason).ok_or_else(|| StoreError::corrupt("suppressions.reason", &reason))?,
        note: row.try_get("note")?,
        created_at: from_ms("suppressions.created_at", row.try_get("created_at")?)?,
    })
}
