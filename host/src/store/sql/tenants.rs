//! Tenants, written once for both backends (included by `store/sqlite` and
//! `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::{Tenant, TenantCeilings};
use crate::store::shared::{from_ms, ms};
use crate::store::tenants::{SettingsRevision, StoredSettings};
use crate::store::{StoreError, StoreResult, Tenants};

#[async_trait]
impl Tenants for DbStore {
    async fn ensure_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant> {
        insert_if_new(self, id, name).await?;
        self.get_tenant(id).await
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Tenant> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", id))?;
        tenant_from_row(&row)
    }

    async fn create_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant> {
        if !insert_if_new(self, id, name).await? {
            return Err(StoreError::Duplicate {
                entity: "tenant",
                key: id.to_string(),
            });
        }
        self.get_tenant(id).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM tenants ORDER BY id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(tenant_from_row)
            .collect()
    }

    async fn set_tenant_disabled(&self, id: &str, disabled: bool) -> StoreResult<Tenant> {
        // Disabling twice keeps the first instant.
        let query = if disabled {
            sqlx::query("UPDATE tenants SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1")
                .bind(id)
                .bind(ms(Utc::now()))
        } else {
            sqlx::query("UPDATE tenants SET disabled_at = NULL WHERE id = $1").bind(id)
        };
        let updated = query.execute(&self.pool).await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::not_found("tenant", id));
        }
        self.get_tenant(id).await
    }

    async fn set_tenant_ceilings(&self, id: &str, ceilings: TenantCeilings) -> StoreResult<Tenant> {
        let updated = sqlx::query(
            "UPDATE tenants SET max_memory_mib = $2, max_timeout_ms = $3, max_kv_bytes = $4, \
             max_concurrent_calls = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(ceilings.max_memory_mib.map(i64::from))
        .bind(ceilings.max_timeout_ms.map(clamp_i64))
        .bind(ceilings.max_kv_bytes.map(clamp_i64))
        .bind(ceilings.max_concurrent_calls.map(i64::from))
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::not_found("tenant", id));
        }
        self.get_tenant(id).await
    }

    async fn tenant_settings(&self, id: &str) -> StoreResult<Option<StoredSettings>> {
        let row = sqlx::query("SELECT sealed, revision FROM tenant_settings WHERE tenant_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(StoredSettings {
                sealed: row.try_get("sealed")?,
                revision: row.try_get("revision")?,
            })
        })
        .transpose()
    }

    async fn save_tenant_settings(
        &self,
        id: &str,
        sealed: &str,
        key_id: &str,
        expected_revision: Option<i64>,
    ) -> StoreResult<i64> {
        let now = ms(Utc::now());
        let revision: Option<i64> = match expected_revision {
            None => sqlx::query_scalar(
                "INSERT INTO tenant_settings (tenant_id, sealed, key_id, revision, updated_at) \
                 VALUES ($1, $2, $3, 1, $4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, \
                 revision = tenant_settings.revision + 1, updated_at = excluded.updated_at \
                 RETURNING revision",
            )
            .bind(id)
            .bind(sealed)
            .bind(key_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| missing_tenant(e, id))?,
            Some(expected) => sqlx::query_scalar(
                "UPDATE tenant_settings SET sealed = $2, key_id = $3, revision = revision + 1, updated_at = $4 \
                 WHERE tenant_id = $1 AND revision = $5 RETURNING revision",
            )
            .bind(id)
            .bind(sealed)
            .bind(key_id)
            .bind(now)
            .bind(expected)
            .fetch_optional(&self.pool)
            .await?,
        };
        revision.ok_or_else(|| {
            StoreError::Conflict(format!(
                "the settings of tenant {id} changed since revision {} was read",
                expected_revision.unwrap_or_default()
            ))
        })
    }

    async fn settings_revisions(&self) -> StoreResult<Vec<SettingsRevision>> {
        sqlx::query("SELECT tenant_id, revision, key_id FROM tenant_settings ORDER BY tenant_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(SettingsRevision {
                    tenant: row.try_get("tenant_id")?,
                    revision: row.try_get("revision")?,
                    key_id: row.try_get("key_id")?,
                })
            })
            .collect()
    }
}

/// A foreign-key failure on a tenant id is "tenant not found".
fn missing_tenant(error: sqlx::Error, id: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::not_found("tenant", id),
        _ => error.into(),
    }
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const COLUMNS: &str =
    "id, name, created_at, disabled_at, max_memory_mib, max_timeout_ms, max_kv_bytes, max_concurrent_calls";

/// Inserts the tenant unless its id is taken; whether it did.
async fn insert_if_new(store: &DbStore, id: &str, name: &str) -> StoreResult<bool> {
    let inserted =
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(name)
            .bind(ms(Utc::now()))
            .execute(&store.pool)
            .await?;
    Ok(inserted.rows_affected() == 1)
}

fn tenant_from_row(row: &DbRow) -> StoreResult<Tenant> {
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: from_ms("tenants.created_at", row.try_get("created_at")?)?,
        disabled_at: disabled_at
            .map(|at| from_ms("tenants.disabled_at", at))
            .transpose()?,
        ceilings: TenantCeilings {
            max_memory_mib: positive(row, "max_memory_mib")?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
            max_timeout_ms: positive(row, "max_timeout_ms")?,
            max_kv_bytes: positive(row, "max_kv_bytes")?,
            max_concurrent_calls: positive(row, "max_concurrent_calls")?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
        },
    })
}

fn positive(row: &DbRow, column: &str) -> StoreResult<Option<u64>> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.map(|v| u64::try_from(v).unwrap_or(0)))
}
