//! Tenants, campaigns and lead-source cursors on SQLite.

use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{from_ms, ms, touched};
use crate::domain::model::{Campaign, CampaignStatus, NewCampaign, Tenant};
use crate::store::error::is_unique_violation;
use crate::store::shared::{CampaignConfigJson, to_u32};
use crate::store::{StoreError, StoreResult};

pub(super) async fn ensure_tenant(pool: &SqlitePool, id: &str, name: &str) -> StoreResult<Tenant> {
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(name)
        .bind(ms(Utc::now()))
        .execute(pool)
        .await?;
    get_tenant(pool, id).await
}

pub(super) async fn get_tenant(pool: &SqlitePool, id: &str) -> StoreResult<Tenant> {
    let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("tenant", id))?;
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: from_ms("tenants.created_at", row.try_get("created_at")?)?,
    })
}

const COLUMNS: &str = "id, tenant_id, name, goal_qualified, daily_cap, score_threshold, live, \
     config, status, status_reason, status_actor, status_changed_at, created_at";

fn campaign_from_row(row: &SqliteRow) -> StoreResult<Campaign> {
    let config = CampaignConfigJson::parse(row.try_get("config")?)?;
    let status: String = row.try_get("status")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        config: NewCampaign {
            name: row.try_get("name")?,
            goal_qualified: to_u32("campaigns.goal_qualified", row.try_get("goal_qualified")?)?,
            daily_cap: to_u32("campaigns.daily_cap", row.try_get("daily_cap")?)?,
            mailboxes: config.mailboxes,
            send_window: config.send_window,
            steps: config.steps,
            score_threshold: row.try_get("score_threshold")?,
            plugins: config.plugins,
            live: row.try_get("live")?,
            goal: config.goal,
            after_last_step: config.after_last_step,
        },
        status: CampaignStatus::parse(&status).ok_or_else(|| StoreError::corrupt("campaigns.status", &status))?,
        status_reason: row.try_get("status_reason")?,
        status_actor: row.try_get("status_actor")?,
        status_changed_at: from_ms("campaigns.status_changed_at", row.try_get("status_changed_at")?)?,
        created_at: from_ms("campaigns.created_at", row.try_get("created_at")?)?,
    })
}

pub(super) async fn create(pool: &SqlitePool, tenant: &str, c: &NewCampaign) -> StoreResult<Campaign> {
    let now = ms(Utc::now());
    let sql = format!(
        "INSERT INTO campaigns (tenant_id, name, goal_qualified, daily_cap, score_threshold, live, \
         config, status, status_reason, status_actor, status_changed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'PAUSED', 'created', 'system', $8, $8) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(&c.name)
        .bind(i64::from(c.goal_qualified))
        .bind(i64::from(c.daily_cap))
        .bind(c.score_threshold)
        .bind(c.live)
        .bind(CampaignConfigJson::of(c)?)
        .bind(now)
        .fetch_one(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Duplicate {
                    entity: "campaign",
                    key: c.name.clone(),
                }
            } else {
                e.into()
            }
        })?;
    campaign_from_row(&row)
}

pub(super) async fn get(pool: &SqlitePool, tenant: &str, id: i64) -> StoreResult<Campaign> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("campaign", id))?;
    campaign_from_row(&row)
}

pub(super) async fn by_name(pool: &SqlitePool, tenant: &str, name: &str) -> StoreResult<Campaign> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 AND name = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("campaign", name))?;
    campaign_from_row(&row)
}

pub(super) async fn list(pool: &SqlitePool, tenant: &str) -> StoreResult<Vec<Campaign>> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 ORDER BY id");
    let rows = sqlx::query(&sql).bind(tenant).fetch_all(pool).await?;
    rows.iter().map(campaign_from_row).collect()
}

pub(super) async fn update_config(pool: &SqlitePool, tenant: &str, id: i64, c: &NewCampaign) -> StoreResult<Campaign> {
    let result = sqlx::query(
        "UPDATE campaigns SET name = $3, goal_qualified = $4, daily_cap = $5, score_threshold = $6, \
         live = $7, config = $8 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&c.name)
    .bind(i64::from(c.goal_qualified))
    .bind(i64::from(c.daily_cap))
    .bind(c.score_threshold)
    .bind(c.live)
    .bind(CampaignConfigJson::of(c)?)
    .execute(pool)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                entity: "campaign",
                key: c.name.clone(),
            }
        } else {
            e.into()
        }
    })?;
    touched(result, "campaign", id)?;
    get(pool, tenant, id).await
}

pub(super) async fn set_status(
    pool: &SqlitePool,
    tenant: &str,
    id: i64,
    status: CampaignStatus,
    reason: &str,
    actor: &str,
) -> StoreResult<Campaign> {
    let result = sqlx::query(
        "UPDATE campaigns SET status = $3, status_reason = $4, status_actor = $5, \
         status_changed_at = $6 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .bind(actor)
    .bind(ms(Utc::now()))
    .execute(pool)
    .await?;
    touched(result, "campaign", id)?;
    get(pool, tenant, id).await
}

pub(super) async fn set_daily_cap(pool: &SqlitePool, tenant: &str, id: i64, cap: u32) -> StoreResult<()> {
    let result = sqlx::query("UPDATE campaigns SET daily_cap = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(i64::from(cap))
        .execute(pool)
        .await?;
    touched(result, "campaign", id)
}

pub(super) async fn source_cursor(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    plugin: &str,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT cursor FROM source_cursors WHERE tenant_id = $1 AND campaign_id = $2 AND plugin = $3",
    )
    .bind(tenant)
    .bind(campaign_id)
    .bind(plugin)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn set_source_cursor(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    plugin: &str,
    cursor: &str,
) -> StoreResult<()> {
    // The SELECT makes a cursor for another tenant's campaign a NotFound.
    let result = sqlx::query(
        "INSERT INTO source_cursors (tenant_id, campaign_id, plugin, cursor, updated_at) \
         SELECT tenant_id, id, $3, $4, $5 FROM campaigns WHERE tenant_id = $1 AND id = $2 \
         ON CONFLICT (campaign_id, plugin) DO UPDATE SET cursor = excluded.cursor, \
         updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(campaign_id)
    .bind(plugin)
    .bind(cursor)
    .bind(ms(Utc::now()))
    .execute(pool)
    .await?;
    touched(result, "campaign", campaign_id)
}
