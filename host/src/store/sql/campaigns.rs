//! Campaigns and lead-source cursors, written once for both backends
//! (included by `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::types::Json;

use super::{DbRow, DbStore};
use crate::domain::model::{Campaign, CampaignStatus, NewCampaign};
use crate::store::error::is_unique_violation;
use crate::store::shared::{CampaignConfigJson, from_ms, ms, to_u32, touched};
use crate::store::{Campaigns, StoreError, StoreResult};

const COLUMNS: &str = "id, tenant_id, name, goal_qualified, daily_cap, score_threshold, live, \
     config, status, status_reason, status_actor, status_changed_at, created_at";

fn campaign_from_row(row: &DbRow) -> StoreResult<Campaign> {
    let config = row.try_get::<Json<CampaignConfigJson>, _>("config")?.0;
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

/// A unique violation on the campaign's name as `Duplicate`.
fn name_taken(c: &NewCampaign) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                entity: "campaign",
                key: c.name.clone(),
            }
        } else {
            e.into()
        }
    }
}

#[async_trait]
impl Campaigns for DbStore {
    async fn create_campaign(&self, tenant: &str, c: &NewCampaign) -> StoreResult<Campaign> {
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
            .bind(Json(CampaignConfigJson::new(c)))
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(name_taken(c))?;
        campaign_from_row(&row)
    }

    async fn get_campaign(&self, tenant: &str, id: i64) -> StoreResult<Campaign> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("campaign", id))?;
        campaign_from_row(&row)
    }

    async fn campaign_by_name(&self, tenant: &str, name: &str) -> StoreResult<Campaign> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 AND name = $2");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("campaign", name))?;
        campaign_from_row(&row)
    }

    async fn list_campaigns(&self, tenant: &str) -> StoreResult<Vec<Campaign>> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql).bind(tenant).fetch_all(&self.pool).await?;
        rows.iter().map(campaign_from_row).collect()
    }

    async fn update_campaign_config(&self, tenant: &str, id: i64, c: &NewCampaign) -> StoreResult<Campaign> {
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
        .bind(Json(CampaignConfigJson::new(c)))
        .execute(&self.pool)
        .await
        .map_err(name_taken(c))?;
        touched(result.rows_affected(), "campaign", id)?;
        self.get_campaign(tenant, id).await
    }

    async fn set_campaign_status(
        &self,
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
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "campaign", id)?;
        self.get_campaign(tenant, id).await
    }

    async fn set_daily_cap(&self, tenant: &str, id: i64, cap: u32) -> StoreResult<()> {
        let result = sqlx::query("UPDATE campaigns SET daily_cap = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(i64::from(cap))
            .execute(&self.pool)
            .await?;
        touched(result.rows_affected(), "campaign", id)
    }

    async fn source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT cursor FROM source_cursors WHERE tenant_id = $1 AND campaign_id = $2 AND plugin = $3",
        )
        .bind(tenant)
        .bind(campaign_id)
        .bind(plugin)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn set_source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str, cursor: &str) -> StoreResult<()> {
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
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "campaign", campaign_id)
    }
}
