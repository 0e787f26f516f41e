//! Tenants, written once for both backends (included by `store/sqlite` and
//! `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::Tenant;
use crate::store::shared::{from_ms, ms};
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
}

const COLUMNS: &str = "id, name, created_at, disabled_at";

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
    })
}
