//! Plugin key-value data, plugin versions and cycle reports on PostgreSQL.

use chrono::Utc;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use crate::domain::model::{CycleReportRecord, NewCycleReport, NewPluginVersion, PluginVersionRecord};
use crate::store::shared::to_u64;
use crate::store::{StoreError, StoreResult};

pub(super) async fn kv_get(pool: &PgPool, tenant: &str, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 AND key = $3")
            .bind(tenant)
            .bind(plugin)
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

pub(super) async fn kv_set(
    pool: &PgPool,
    tenant: &str,
    plugin: &str,
    key: &str,
    value: &[u8],
    quota_bytes: u64,
) -> StoreResult<()> {
    let size = (key.len() + value.len()) as u64;
    let limit = i64::try_from(quota_bytes).unwrap_or(i64::MAX);
    let mut tx = pool.begin().await?;
    // Serialize writers of one (tenant, plugin) so two concurrent writes
    // cannot both pass the check; released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))")
        .bind(tenant)
        .bind(plugin)
        .execute(&mut *tx)
        .await?;
    let result = sqlx::query(
        "INSERT INTO plugin_kv (tenant_id, plugin, key, value, size, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE \
         (SELECT COALESCE(SUM(size), 0)::BIGINT FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 AND key <> $3) + $5 <= $7 \
         ON CONFLICT (tenant_id, plugin, key) DO UPDATE SET value = EXCLUDED.value, \
         size = EXCLUDED.size, updated_at = EXCLUDED.updated_at",
    )
    .bind(tenant)
    .bind(plugin)
    .bind(key)
    .bind(value)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(Utc::now())
    .bind(limit)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if result.rows_affected() > 0 {
        return Ok(());
    }
    let used = kv_usage(pool, tenant, plugin, Some(key)).await?;
    Err(StoreError::QuotaExceeded {
        used,
        requested: size,
        limit: quota_bytes,
    })
}

pub(super) async fn kv_delete(pool: &PgPool, tenant: &str, plugin: &str, key: &str) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 AND key = $3")
        .bind(tenant)
        .bind(plugin)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Bytes used by the plugin, leaving out `except_key` when given.
pub(super) async fn kv_usage(pool: &PgPool, tenant: &str, plugin: &str, except_key: Option<&str>) -> StoreResult<u64> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size), 0)::BIGINT FROM plugin_kv WHERE tenant_id = $1 AND plugin = $2 \
         AND ($3 IS NULL OR key <> $3)",
    )
    .bind(tenant)
    .bind(plugin)
    .bind(except_key)
    .fetch_one(pool)
    .await?;
    Ok(to_u64(used))
}

const VERSION_COLUMNS: &str = "id, tenant_id, name, kind, version, sha256, source, recorded_at, active";

fn version_from_row(row: &PgRow) -> StoreResult<PluginVersionRecord> {
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
        recorded_at: row.try_get("recorded_at")?,
        active: row.try_get("active")?,
    })
}

async fn version(pool: &PgPool, tenant: &str, name: &str, sha256: &str) -> StoreResult<PluginVersionRecord> {
    let sql =
        format!("SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND name = $2 AND sha256 = $3");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(name)
        .bind(sha256)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("plugin version", format!("{name}@{sha256}")))?;
    version_from_row(&row)
}

pub(super) async fn record_version(
    pool: &PgPool,
    tenant: &str,
    v: &NewPluginVersion,
) -> StoreResult<PluginVersionRecord> {
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
    .bind(Utc::now())
    .execute(pool)
    .await?;
    version(pool, tenant, &v.name, &v.sha256).await
}

pub(super) async fn history(pool: &PgPool, tenant: &str, name: &str) -> StoreResult<Vec<PluginVersionRecord>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND name = $2 \
         ORDER BY recorded_at DESC, id DESC"
    );
    let rows = sqlx::query(&sql).bind(tenant).bind(name).fetch_all(pool).await?;
    rows.iter().map(version_from_row).collect()
}

pub(super) async fn active_versions(pool: &PgPool, tenant: &str) -> StoreResult<Vec<PluginVersionRecord>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND active ORDER BY name");
    let rows = sqlx::query(&sql).bind(tenant).fetch_all(pool).await?;
    rows.iter().map(version_from_row).collect()
}

pub(super) async fn activate(
    pool: &PgPool,
    tenant: &str,
    name: &str,
    sha256: &str,
) -> StoreResult<PluginVersionRecord> {
    let mut tx = pool.begin().await?;
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
    version(pool, tenant, name, sha256).await
}

pub(super) async fn insert_report(pool: &PgPool, tenant: &str, r: &NewCycleReport) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO cycle_reports (tenant_id, campaign_id, started_at, finished_at, summary, report) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant)
    .bind(r.campaign_id)
    .bind(r.started_at)
    .bind(r.finished_at)
    .bind(&r.summary)
    .bind(Json(&r.report))
    .fetch_one(pool)
    .await?)
}

pub(super) async fn recent_reports(
    pool: &PgPool,
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
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CycleReportRecord {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                report: NewCycleReport {
                    campaign_id: row.try_get("campaign_id")?,
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                    summary: row.try_get("summary")?,
                    report: row.try_get::<Json<_>, _>("report")?.0,
                },
            })
        })
        .collect()
}

pub(super) async fn save_blob(
    pool: &PgPool,
    tenant: &str,
    sha256: &str,
    wasm: &[u8],
    manifest: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO plugin_blobs (tenant_id, sha256, wasm, manifest, stored_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, sha256) DO UPDATE SET manifest = EXCLUDED.manifest",
    )
    .bind(tenant)
    .bind(sha256)
    .bind(wasm)
    .bind(manifest)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn blob(pool: &PgPool, tenant: &str, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
    let row = sqlx::query("SELECT wasm, manifest FROM plugin_blobs WHERE tenant_id = $1 AND sha256 = $2")
        .bind(tenant)
        .bind(sha256)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("wasm")?, row.try_get("manifest")?)))
        .transpose()
}

pub(super) async fn announce(pool: &PgPool, tenant: &str, name: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::store::PLUGIN_CHANGES_CHANNEL)
        .bind(format!("{tenant}/{name}"))
        .execute(pool)
        .await?;
    Ok(())
}
