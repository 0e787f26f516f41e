//! Leads, their transitions and suppression on SQLite.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{from_ms, from_ms_opt, ms, touched};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{
    Lead, LeadEnrichment, LeadTransition, NewLead, Suppression, SuppressionKind, SuppressionReason,
};
use crate::store::shared::{
    LEAD_BATCH_ROWS, addresses_and_domains, covered_by, email_domain, from_json, normalize_email, parse_lead_state,
    to_json, to_u32, to_u64,
};
use crate::store::{InsertOutcome, StoreError, StoreResult};

pub(crate) const LEAD_COLUMNS: &str = "id, tenant_id, campaign_id, email, first_name, last_name, \
     company, domain, title, country, time_zone, employees, attributes, score, score_reasons, \
     scorer_version, state, current_step, next_action_at, source_plugin, source_version, \
     created_at, updated_at";

/// One row of the multi-row INSERT. Plain `?` placeholders on purpose:
/// SQLite looks numbered (`$N`, `?N`) parameters up linearly while preparing,
/// which made 500-row statements ten times slower than 50-row ones.
const ROW_PLACEHOLDERS: &str = "(?, ?, ?, ?, 'NEW', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

fn lead_from_row(row: &SqliteRow) -> StoreResult<Lead> {
    let employees: Option<i64> = row.try_get("employees")?;
    let state: String = row.try_get("state")?;
    Ok(Lead {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        campaign_id: row.try_get("campaign_id")?,
        fields: NewLead {
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            company: row.try_get("company")?,
            domain: row.try_get("domain")?,
            title: row.try_get("title")?,
            country: row.try_get("country")?,
            time_zone: row.try_get("time_zone")?,
            employees: employees.map(|n| to_u32("leads.employees", n)).transpose()?,
            attributes: from_json("leads.attributes", row.try_get("attributes")?)?,
            source_plugin: row.try_get("source_plugin")?,
            source_version: row.try_get("source_version")?,
        },
        score: row.try_get("score")?,
        score_reasons: from_json("leads.score_reasons", row.try_get("score_reasons")?)?,
        scorer_version: row.try_get("scorer_version")?,
        state: parse_lead_state(&state)?,
        current_step: to_u32("leads.current_step", row.try_get("current_step")?)?,
        next_action_at: from_ms_opt("leads.next_action_at", row.try_get("next_action_at")?)?,
        created_at: from_ms("leads.created_at", row.try_get("created_at")?)?,
        updated_at: from_ms("leads.updated_at", row.try_get("updated_at")?)?,
    })
}

/// The multi-row INSERT for `rows` leads.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(200 + rows * 80);
    sql.push_str(
        "INSERT INTO leads (tenant_id, campaign_id, created_at, updated_at, state, email, \
         first_name, last_name, company, domain, title, country, time_zone, employees, \
         attributes, source_plugin, source_version) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(ROW_PLACEHOLDERS);
    }
    sql.push_str(" ON CONFLICT (tenant_id, email) DO NOTHING RETURNING email");
    sql
}

#[tracing::instrument(name = "store.insert_leads", skip_all, fields(tenant = %tenant, campaign_id = campaign_id, rows = leads.len()))]
pub(super) async fn insert(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    leads: &[NewLead],
) -> StoreResult<InsertOutcome> {
    let mut outcome = InsertOutcome::default();
    if leads.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let full_batch_sql = insert_sql(LEAD_BATCH_ROWS);
    let mut seen: HashSet<String> = HashSet::with_capacity(leads.len());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // The campaign must be the tenant's: checked once, not per row.
    let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(campaign_id)
        .fetch_optional(&mut *tx)
        .await?;
    if owned.is_none() {
        return Err(StoreError::not_found("campaign", campaign_id));
    }
    for chunk in leads.chunks(LEAD_BATCH_ROWS) {
        let mut emails: Vec<String> = Vec::with_capacity(chunk.len());
        let mut batch: Vec<(&NewLead, String)> = Vec::with_capacity(chunk.len());
        for lead in chunk {
            let email = normalize_email(&lead.email);
            if seen.insert(email.clone()) {
                emails.push(email.clone());
                batch.push((lead, email));
            } else {
                outcome.duplicates.push(email);
            }
        }
        let suppressed = suppressed_in(&mut *tx, tenant, &emails).await?;
        if !suppressed.is_empty() {
            let set: HashSet<&str> = suppressed.iter().map(String::as_str).collect();
            batch.retain(|(_, email)| !set.contains(email.as_str()));
            outcome.suppressed.extend(suppressed.iter().cloned());
        }
        if batch.is_empty() {
            continue;
        }
        let partial_sql;
        let sql = if batch.len() == LEAD_BATCH_ROWS {
            &full_batch_sql
        } else {
            partial_sql = insert_sql(batch.len());
            &partial_sql
        };
        // Only the full-size statement is worth keeping prepared: a partial
        // one (the last rows of an import, or a batch shrunk by repeats and
        // suppressed addresses) has one of 499 sizes, and caching each would
        // pile up large prepared statements in every connection.
        let mut query = sqlx::query_scalar::<_, String>(sql).persistent(batch.len() == LEAD_BATCH_ROWS);
        for (lead, email) in &batch {
            let domain = if lead.domain.trim().is_empty() {
                email_domain(email).to_string()
            } else {
                lead.domain.trim().to_lowercase()
            };
            query = query
                .bind(tenant)
                .bind(campaign_id)
                .bind(now)
                .bind(now)
                .bind(email.as_str())
                .bind(lead.first_name.as_str())
                .bind(lead.last_name.as_str())
                .bind(lead.company.as_str())
                .bind(domain)
                .bind(lead.title.as_str())
                .bind(lead.country.as_str())
                .bind(lead.time_zone.as_str())
                .bind(lead.employees.map(i64::from))
                .bind(to_json("leads.attributes", &lead.attributes)?)
                .bind(lead.source_plugin.as_str())
                .bind(lead.source_version.as_str());
        }
        let inserted: HashSet<String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
        outcome.inserted += inserted.len() as u64;
        outcome.duplicates.extend(
            batch
                .into_iter()
                .filter(|(_, email)| !inserted.contains(email))
                .map(|(_, email)| email),
        );
    }
    tx.commit().await?;
    Ok(outcome)
}

/// The suppressed subset of normalized `emails`, inside any executor.
async fn suppressed_in<'e, E>(executor: E, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let (addresses, domains) = addresses_and_domains(emails);
    let values: Vec<String> = sqlx::query_scalar(
        "SELECT value FROM suppressions WHERE tenant_id = $1 AND \
         ((kind = 'ADDRESS' AND value IN (SELECT value FROM json_each($2))) OR \
          (kind = 'DOMAIN' AND value IN (SELECT value FROM json_each($3))))",
    )
    .bind(tenant)
    .bind(to_json("addresses", &addresses)?)
    .bind(to_json("domains", &domains)?)
    .fetch_all(executor)
    .await?;
    if values.is_empty() {
        return Ok(Vec::new());
    }
    Ok(covered_by(emails, &values))
}

pub(super) async fn suppressed_subset(pool: &SqlitePool, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
    suppressed_in(pool, tenant, emails).await
}

pub(super) async fn add_suppression(
    pool: &SqlitePool,
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
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn list_suppressions(pool: &SqlitePool, tenant: &str) -> StoreResult<Vec<Suppression>> {
    let rows = sqlx::query(
        "SELECT tenant_id, kind, value, reason, note, created_at FROM suppressions \
         WHERE tenant_id = $1 ORDER BY created_at DESC, value",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let reason: String = row.try_get("reason")?;
            Ok(Suppression {
                tenant_id: row.try_get("tenant_id")?,
                kind: SuppressionKind::parse(&kind).ok_or_else(|| StoreError::corrupt("suppressions.kind", &kind))?,
                value: row.try_get("value")?,
                reason: SuppressionReason::parse(&reason)
                    .ok_or_else(|| StoreError::corrupt("suppressions.reason", &reason))?,
                note: row.try_get("note")?,
                created_at: from_ms("suppressions.created_at", row.try_get("created_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn get(pool: &SqlitePool, tenant: &str, id: i64) -> StoreResult<Lead> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("lead", id))?;
    lead_from_row(&row)
}

pub(super) async fn by_email(pool: &SqlitePool, tenant: &str, email: &str) -> StoreResult<Option<Lead>> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND email = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(normalize_email(email))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(lead_from_row).transpose()
}

pub(super) async fn in_state(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    state: LeadState,
    limit: u32,
) -> StoreResult<Vec<Lead>> {
    // `score DESC` puts NULLs last in SQLite, matching the index order.
    let sql = format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE campaign_id = $2 AND state = $3 AND tenant_id = $1 \
         ORDER BY score DESC, id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(campaign_id)
        .bind(state.as_str())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(lead_from_row).collect()
}

pub(super) async fn due(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<Vec<Lead>> {
    let sql = format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE campaign_id = $2 AND next_action_at IS NOT NULL \
         AND next_action_at <= $3 AND tenant_id = $1 ORDER BY next_action_at, id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(campaign_id)
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(lead_from_row).collect()
}

pub(super) async fn count_by_state(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
) -> StoreResult<Vec<(LeadState, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM leads WHERE campaign_id = $2 AND tenant_id = $1 \
         GROUP BY state ORDER BY state",
    )
    .bind(tenant)
    .bind(campaign_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(state, n)| Ok((parse_lead_state(&state)?, to_u64(n))))
        .collect()
}

pub(super) async fn update_enrichment(
    pool: &SqlitePool,
    tenant: &str,
    lead_id: i64,
    e: &LeadEnrichment,
) -> StoreResult<()> {
    // Attributes merge in SQL (new keys win), so no read-modify-write race.
    let result = sqlx::query(
        "UPDATE leads SET company = COALESCE($3, company), domain = COALESCE($4, domain), \
         title = COALESCE($5, title), country = COALESCE($6, country), \
         time_zone = COALESCE($7, time_zone), employees = COALESCE($8, employees), \
         attributes = json_patch(attributes, $9), updated_at = $10 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(lead_id)
    .bind(e.company.as_deref())
    .bind(e.domain.as_deref())
    .bind(e.title.as_deref())
    .bind(e.country.as_deref())
    .bind(e.time_zone.as_deref())
    .bind(e.employees.map(i64::from))
    .bind(to_json("leads.attributes", &e.attributes)?)
    .bind(ms(Utc::now()))
    .execute(pool)
    .await?;
    touched(result, "lead", lead_id)
}

pub(super) async fn update_score(
    pool: &SqlitePool,
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
    .bind(to_json("leads.score_reasons", &reasons)?)
    .bind(scorer_version)
    .bind(ms(Utc::now()))
    .execute(pool)
    .await?;
    touched(result, "lead", lead_id)
}

pub(super) async fn transition(pool: &SqlitePool, tenant: &str, t: &LeadTransition) -> StoreResult<()> {
    crate::domain::lifecycle::transition(t.from, t.to)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
         plugin_version, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(t.lead_id)
    .bind(t.from.as_str())
    .bind(t.to.as_str())
    .bind(&t.reason)
    .bind(t.plugin_version.as_deref())
    .bind(ms(t.at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn transitions(pool: &SqlitePool, tenant: &str, lead_id: i64) -> StoreResult<Vec<LeadTransition>> {
    let rows = sqlx::query(
        "SELECT lead_id, from_state, to_state, reason, plugin_version, at FROM lead_transitions \
         WHERE lead_id = $2 AND tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .bind(lead_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LeadTransition {
                lead_id: row.try_get("lead_id")?,
                from: parse_lead_state(row.try_get("from_state")?)?,
                to: parse_lead_state(row.try_get("to_state")?)?,
                reason: row.try_get("reason")?,
                plugin_version: row.try_get("plugin_version")?,
                at: from_ms("lead_transitions.at", row.try_get("at")?)?,
            })
        })
        .collect()
}

pub(super) async fn set_schedule(
    pool: &SqlitePool,
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
    .execute(pool)
    .await?;
    touched(result, "lead", lead_id)
}

pub(super) async fn delete(pool: &SqlitePool, tenant: &str, lead_id: i64) -> StoreResult<()> {
    let result = sqlx::query("DELETE FROM leads WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(lead_id)
        .execute(pool)
        .await?;
    touched(result, "lead", lead_id)
}

pub(super) async fn in_state_after(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    state: LeadState,
    after_id: i64,
    limit: u32,
    not_scored_by: Option<&str>,
) -> StoreResult<Vec<Lead>> {
    // NOT INDEXED walks the primary key from `after_id` and stops after
    // `limit` matches, so each page costs its own rows. Through the
    // (campaign, state, score) index every page would read and sort all the
    // campaign's leads in `state` again.
    let sql = format!(
        "SELECT {LEAD_COLUMNS} FROM leads NOT INDEXED WHERE id > ? AND campaign_id = ? AND state = ? \
         AND tenant_id = ? AND (? IS NULL OR scorer_version IS NULL OR scorer_version <> ?) \
         ORDER BY id LIMIT ?"
    );
    let rows = sqlx::query(&sql)
        .bind(after_id)
        .bind(campaign_id)
        .bind(state.as_str())
        .bind(tenant)
        .bind(not_scored_by)
        .bind(not_scored_by)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(lead_from_row).collect()
}
