//! Tenants, written once for both backends (included by `store/sqlite` and
//! `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::DbStore;
use crate::domain::model::Tenant;
use crate::store::shared::{from_ms, ms};
use crate::store::{StoreError, StoreResult, Tenants};

#[async_trait]
impl Tenants for DbStore {
    async fn ensure_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(name)
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
        self.get_tenant(id).await
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", id))?;
        Ok(Tenant {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created_at: from_ms("tenants.created_at", row.try_get("created_at")?)?,
        })
    }
}
