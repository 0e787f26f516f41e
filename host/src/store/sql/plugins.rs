//! Plugin versions and their kept bytes, written once for both backends
//! (included by `store/sqlite` and `store/postgres`; see [`crate::store`]).
//! Announcing a change is the backend's own (`NOTIFY` or nothing).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::{NewPluginVersion, PluginVersionRecord};
use crate::store::shared::{from_ms, ms};
use crate::store::{PluginVersions, StoreError, StoreResult};

const VERSION_COLUMNS: &str = "id, tenant_id, name, kind, version, sha256, source, recorded_at, active";

fn version_from_row(row: &DbRow) -> StoreResult<PluginVersionRecord> {
    Ok(PluginVersionRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        plugin: NewPluginVersion {
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            version: row.try_get("version")?,
            sha256: row.try_get("sha256")?,
            source: row.try_get("source")?,
        },
        recorded_at: from_ms("plugin_versions.recorded_at", row.try_get("recorded_at")?)?,
        active: row.try_get("active")?,
    })
}

impl DbStore {
    /// One recorded version.
    async fn plugin_version(&self, tenant: &str, name: &str, sha256: &str) -> StoreResult<PluginVersionRecord> {
        let sql =
            format!("SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND name = $2 AND sha256 = $3");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(name)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("plugin version", format!("{name}@{sha256}")))?;
        version_from_row(&row)
    }
}

#[async_trait]
impl PluginVersions for DbStore {
    async fn record_plugin_version(&self, tenant: &str, v: &NewPluginVersion) -> StoreResult<PluginVersionRecord> {
        sqlx::query(
            "INSERT INTO plugin_versions (tenant_id, name, kind, version, sha256, source, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, name, sha256) DO NOTHING",
        )
        .bind(tenant)
        .bind(&v.name)
        .bind(&v.kind)
        .bind(&v.version)
        .bind(&v.sha256)
        .bind(&v.source)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        self.plugin_version(tenant, &v.name, &v.sha256).await
    }

    async fn plugin_history(&self, tenant: &str, name: &str) -> StoreResult<Vec<PluginVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND name = $2 \
             ORDER BY recorded_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql).bind(tenant).bind(name).fetch_all(&self.pool).await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn active_plugin_versions(&self, tenant: &str) -> StoreResult<Vec<PluginVersionRecord>> {
        let sql =
            format!("SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND active ORDER BY name");
        let rows = sqlx::query(&sql).bind(tenant).fetch_all(&self.pool).await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn activate_plugin_version(
        &self,
        tenant: &str,
        name: &str,
        sha256: &str,
    ) -> StoreResult<PluginVersionRecord> {
        let mut tx = super::begin_write(&self.pool).await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM plugin_versions WHERE tenant_id = $1 AND name = $2 AND sha256 = $3")
                .bind(tenant)
                .bind(name)
                .bind(sha256)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("plugin version", format!("{name}@{sha256}")));
        }
        sqlx::query("UPDATE plugin_versions SET active = FALSE WHERE tenant_id = $1 AND name = $2 AND active")
            .bind(tenant)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE plugin_versions SET active = TRUE WHERE tenant_id = $1 AND name = $2 AND sha256 = $3")
            .bind(tenant)
            .bind(name)
            .bind(sha256)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.plugin_version(tenant, name, sha256).await
    }

    async fn save_plugin_blob(&self, tenant: &str, sha256: &str, wasm: &[u8], manifest: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO plugin_blobs (tenant_id, sha256, wasm, manifest, stored_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, sha256) DO UPDATE SET manifest = excluded.manifest",
        )
        .bind(tenant)
        .bind(sha256)
        .bind(wasm)
        .bind(manifest)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn plugin_blob(&self, tenant: &str, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        let row = sqlx::query("SELECT wasm, manifest FROM plugin_blobs WHERE tenant_id = $1 AND sha256 = $2")
            .bind(tenant)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("wasm")?, row.try_get("manifest")?)))
            .transpose()
    }

    async fn announce_plugin_change(&self, tenant: &str, name: &str) -> StoreResult<()> {
        super::announce_plugin_change(&self.pool, tenant, name).await
    }
}
