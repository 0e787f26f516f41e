//! Leads, written once for both backends (included by `store/sqlite` and
//! `store/postgres`; see [`crate::store`]). The bulk paths (inserting,
//! reading pages of leads, batch updates) are each backend's own, measured
//! to pay (`sqlite/direct.rs`; PostgreSQL's `UNNEST` batches), and are
//! forwarded to its `leads` and `batch` modules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;

use super::DbStore;
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, LeadEnrichment, LeadTransition, NewLead};
use crate::store::shared::{from_ms, ms, parse_lead_state, to_u64, touched};
use crate::store::{
    BatchOutcome, EnrichmentUpdate, InsertOutcome, LeadFilter, Leads, ScoreUpdate, StoreError, StoreResult,
};

#[async_trait]
impl Leads for DbStore {
    async fn insert_leads(&self, tenant: &str, campaign_id: i64, leads: &[NewLead]) -> StoreResult<InsertOutcome> {
        super::leads::insert(&self.pool, tenant, campaign_id, leads).await
    }

    async fn get_lead(&self, tenant: &str, id: i64) -> StoreResult<Lead> {
        super::leads::get(&self.pool, tenant, id).await
    }

    async fn lead_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<Lead>> {
        super::leads::by_email(&self.pool, tenant, email).await
    }

    async fn leads_by_emails(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<Lead>> {
        super::leads::by_emails(&self.pool, tenant, emails).await
    }

    async fn leads_in_state(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        super::leads::in_state(&self.pool, tenant, campaign_id, state, limit).await
    }

    async fn leads_due(
        &self,
        tenant: &str,
        campaign_id: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        super::leads::due(&self.pool, tenant, campaign_id, now, limit).await
    }

    async fn count_leads_by_state(&self, tenant: &str, campaign_id: i64) -> StoreResult<Vec<(LeadState, u64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM leads WHERE campaign_id = $2 AND tenant_id = $1 \
             GROUP BY state ORDER BY state",
        )
        .bind(tenant)
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(state, n)| Ok((parse_lead_state(&state)?, to_u64(n))))
            .collect()
    }

    async fn update_enrichment(&self, tenant: &str, lead_id: i64, e: &LeadEnrichment) -> StoreResult<()> {
        // Attributes merge in SQL (new keys win), so no read-modify-write race.
        let sql = format!(
            "UPDATE leads SET company = COALESCE($3, company), domain = COALESCE($4, domain), \
             title = COALESCE($5, title), country = COALESCE($6, country), \
             time_zone = COALESCE($7, time_zone), employees = COALESCE($8, employees), \
             attributes = {}, updated_at = $10 WHERE tenant_id = $1 AND id = $2",
            super::merge_json("attributes", "$9")
        );
        let result = sqlx::query(&sql)
            .bind(tenant)
            .bind(lead_id)
            .bind(e.company.as_deref())
            .bind(e.domain.as_deref())
            .bind(e.title.as_deref())
            .bind(e.country.as_deref())
            .bind(e.time_zone.as_deref())
            .bind(e.employees.map(i64::from))
            .bind(Json(&e.attributes))
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
        touched(result.rows_affected(), "lead", lead_id)
    }

    async fn update_score(
        &self,
        tenant: &str,
        lead_id: i64,
        score: f64,
        reasons: &[String],
        scorer_version: &str,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE leads SET score = $3, score_reasons = $4, scorer_version = $5, updated_at = $6 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(lead_id)
        .bind(score)
        .bind(Json(reasons))
        .bind(scorer_version)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "lead", lead_id)
    }

    async fn apply_enrichments(&self, tenant: &str, updates: &[EnrichmentUpdate]) -> StoreResult<BatchOutcome> {
        super::batch::apply_enrichments(&self.pool, tenant, updates).await
    }

    async fn update_scores(&self, tenant: &str, updates: &[ScoreUpdate]) -> StoreResult<BatchOutcome> {
        super::batch::update_scores(&self.pool, tenant, updates).await
    }

    async fn leads_in_state_after(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        after_id: i64,
        limit: u32,
        not_scored_by: Option<&str>,
    ) -> StoreResult<Vec<Lead>> {
        super::leads::in_state_after(&self.pool, tenant, campaign_id, state, after_id, limit, not_scored_by).await
    }

    async fn transition_lead(&self, tenant: &str, t: &LeadTransition) -> StoreResult<()> {
        crate::domain::lifecycle::transition(t.from, t.to)?;
        let mut tx = super::begin_write(&self.pool).await?;
        let result =
            sqlx::query("UPDATE leads SET state = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND state = $3")
                .bind(tenant)
                .bind(t.lead_id)
                .bind(t.from.as_str())
                .bind(t.to.as_str())
                .bind(ms(t.at))
                .execute(&mut *tx)
                .await?;
        if result.rows_affected() == 0 {
            let state: Option<String> = sqlx::query_scalar("SELECT state FROM leads WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(t.lead_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match state {
                None => StoreError::not_found("lead", t.lead_id),
                Some(state) => StoreError::Conflict(format!(
                    "lead {} is {state}, not {} as the transition to {} expects",
                    t.lead_id,
                    t.from.as_str(),
                    t.to.as_str()
                )),
            });
        }
        sqlx::query(
            "INSERT INTO lead_transitions (tenant_id, lead_id, from_state, to_state, reason, \
             plugin_version, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(t.lead_id)
        .bind(t.from.as_str())
        .bind(t.to.as_str())
        .bind(&t.reason)
        .bind(t.plugin_version.as_deref())
        .bind(t.actor.as_deref())
        .bind(ms(t.at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn lead_transitions(&self, tenant: &str, lead_id: i64) -> StoreResult<Vec<LeadTransition>> {
        let rows = sqlx::query(
            "SELECT lead_id, from_state, to_state, reason, plugin_version, actor, at FROM lead_transitions \
             WHERE lead_id = $2 AND tenant_id = $1 ORDER BY id",
        )
        .bind(tenant)
        .bind(lead_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LeadTransition {
                    lead_id: row.try_get("lead_id")?,
                    from: parse_lead_state(row.try_get("from_state")?)?,
                    to: parse_lead_state(row.try_get("to_state")?)?,
                    reason: row.try_get("reason")?,
                    plugin_version: row.try_get("plugin_version")?,
                    actor: row.try_get("actor")?,
                    at: from_ms("lead_transitions.at", row.try_get("at")?)?,
                })
            })
            .collect()
    }

    async fn set_lead_schedule(
        &self,
        tenant: &str,
        lead_id: i64,
        current_step: u32,
        next_action_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE leads SET current_step = $3, next_action_at = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(lead_id)
        .bind(i64::from(current_step))
        .bind(next_action_at.map(ms))
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "lead", lead_id)
    }

    async fn list_leads(&self, tenant: &str, filter: &LeadFilter, after_id: i64, limit: u32) -> StoreResult<Vec<Lead>> {
        // The filters pick the addresses; the backend's own read (the direct
        // SQLite path, PostgreSQL's) turns them into leads, so a lead is
        // decoded in one place per backend.
        let mut sql = String::from("SELECT email FROM leads WHERE tenant_id = $1 AND id > $2");
        let mut n = 3;
        let mut condition = |sql: &mut String, text: &str| {
            sql.push_str(&text.replace('?', &format!("${n}")));
            n += 1;
        };
        if filter.state.is_some() {
            condition(&mut sql, " AND state = ?");
        }
        if filter.campaign_id.is_some() {
            condition(&mut sql, " AND campaign_id = ?");
        }
        if filter.min_score.is_some() {
            condition(&mut sql, " AND score >= ?");
        }
        if filter.max_score.is_some() {
            condition(&mut sql, " AND score <= ?");
        }
        if filter.text.is_some() {
            condition(
                &mut sql,
                " AND (LOWER(email) LIKE ? ESCAPE '\\' OR LOWER(company) LIKE ? ESCAPE '\\')",
            );
        }
        condition(&mut sql, " ORDER BY id LIMIT ?");
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(tenant).bind(after_id);
        if let Some(state) = filter.state {
            query = query.bind(state.as_str());
        }
        if let Some(campaign_id) = filter.campaign_id {
            query = query.bind(campaign_id);
        }
        if let Some(min) = filter.min_score {
            query = query.bind(min);
        }
        if let Some(max) = filter.max_score {
            query = query.bind(max);
        }
        if let Some(text) = &filter.text {
            query = query.bind(like_pattern(text));
        }
        let emails = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        let mut leads = super::leads::by_emails(&self.pool, tenant, &emails).await?;
        leads.sort_by_key(|lead| lead.id);
        Ok(leads)
    }

    async fn delete_lead(&self, tenant: &str, lead_id: i64) -> StoreResult<()> {
        let mut tx = super::begin_write(&self.pool).await?;
        // Explicitly: on PostgreSQL transitions have no key to their lead
        // (migration 0009), so no cascade removes them.
        sqlx::query("DELETE FROM lead_transitions WHERE tenant_id = $1 AND lead_id = $2")
            .bind(tenant)
            .bind(lead_id)
            .execute(&mut *tx)
            .await?;
        let result = sqlx::query("DELETE FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(lead_id)
            .execute(&mut *tx)
            .await?;
        touched(result.rows_affected(), "lead", lead_id)?;
        tx.commit().await?;
        Ok(())
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, lower-cased, with `%`, `_` and `\`
/// in `text` matching only themselves. (SQLite's `LOWER` folds ASCII letters
/// only, so there a non-ASCII capital in a stored company, the `Ä` of
/// `Ärzte`, is not matched.)
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
