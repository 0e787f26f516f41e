//! Plugins' key-value data, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;

use super::DbStore;
use crate::store::shared::{ms, to_u64};
use crate::store::{PluginKv, StoreError, StoreResult};

impl DbStore {
    /// Bytes used by the plugin, leaving out `except_key` when given.
    async fn kv_usage_except(&self, tenant: &str, plugin: &str, except_key: Option<&str>) -> StoreResult<u64> {
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 \
             AND ($3 IS NULL OR key <> $3)",
        )
        .bind(tenant)
        .bind(plugin)
        .bind(except_key)
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(used))
    }
}

#[async_trait]
impl PluginKv for DbStore {
    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 AND key = $3")
                .bind(tenant)
                .bind(plugin)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn kv_set(&self, tenant: &str, plugin: &str, key: &str, value: &[u8], quota_bytes: u64) -> StoreResult<()> {
        let size = (key.len() + value.len()) as u64;
        let limit = i64::try_from(quota_bytes).unwrap_or(i64::MAX);
        let mut tx = super::begin_write(&self.pool).await?;
        // Check and write in one statement, with the plugin's writers
        // serialized (SQLite: the write lock `begin_write` takes;
        // PostgreSQL: an advisory lock) so two cannot both pass the check.
        super::lock_plugin_kv(&mut tx, tenant, plugin).await?;
        let result = sqlx::query(
            "INSERT INTO plugin_kv (tenant_id, plugin, key, value, size, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM plugin_kv \
              WHERE tenant_id = $1 AND plugin = $2 AND key <> $3) + $5 <= $7 \
             ON CONFLICT (tenant_id, plugin, key) DO UPDATE SET value = excluded.value, \
             size = excluded.size, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(plugin)
        .bind(key)
        .bind(value)
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(ms(Utc::now()))
        .bind(limit)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if result.rows_affected() > 0 {
            return Ok(());
        }
        let used = self.kv_usage_except(tenant, plugin, Some(key)).await?;
        Err(StoreError::QuotaExceeded {
            used,
            requested: size,
            limit: quota_bytes,
        })
    }

    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 AND key = $3")
            .bind(tenant)
            .bind(plugin)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn kv_usage(&self, tenant: &str, plugin: &str) -> StoreResult<u64> {
        self.kv_usage_except(tenant, plugin, None).await
    }
}
