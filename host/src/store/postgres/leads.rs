//! The PostgreSQL lead paths that differ from SQLite's direct ones:
//! inserts as one `UNNEST` statement per batch, lead reads, suppression
//! lookups with `= ANY`. The plain lead queries are shared
//! (`store/sql/leads.rs`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, NewLead};
use crate::store::shared::{
    LEAD_BATCH_ROWS, addresses_and_domains, covered_by, drop_suppressed, first_rows, from_ms, from_ms_opt, lead_domain,
    ms, normalize_email, parse_lead_state, to_u32,
};
use crate::store::{InsertOutcome, StoreError, StoreResult};

pub(crate) const LEAD_COLUMNS: &str = "id, tenant_id, campaign_id, email, first_name, last_name, \
     company, domain, title, country, time_zone, employees, attributes, score, score_reasons, \
     scorer_version, state, current_step, next_action_at, source_plugin, source_version, \
     created_at, updated_at";

fn lead_from_row(row: &PgRow) -> StoreResult<Lead> {
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
            attributes: row.try_get::<Json<_>, _>("attributes")?.0,
            source_plugin: row.try_get("source_plugin")?,
            source_version: row.try_get("source_version")?,
        },
        score: row.try_get("score")?,
        score_reasons: row.try_get::<Json<_>, _>("score_reasons")?.0,
        scorer_version: row.try_get("scorer_version")?,
        state: parse_lead_state(&state)?,
        current_step: to_u32("leads.current_step", row.try_get("current_step")?)?,
        next_action_at: from_ms_opt("leads.next_action_at", row.try_get("next_action_at")?)?,
        created_at: from_ms("leads.created_at", row.try_get("created_at")?)?,
        updated_at: from_ms("leads.updated_at", row.try_get("updated_at")?)?,
    })
}

/// One column-array per field: a batch is one constant-size statement.
const INSERT_SQL: &str = "INSERT INTO leads (tenant_id, campaign_id, created_at, updated_at, \
     state, email, first_name, last_name, company, domain, title, country, time_zone, employees, \
     attributes, source_plugin, source_version) \
     SELECT $1, $2, $3, $3, 'NEW', * FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], \
     $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::jsonb[], $14::text[], \
     $15::text[]) ON CONFLICT (tenant_id, email) DO NOTHING RETURNING email";

/// A batch of leads as column arrays.
#[derive(Default)]
struct Columns {
    email: Vec<String>,
    first_name: Vec<String>,
    last_name: Vec<String>,
    company: Vec<String>,
    domain: Vec<String>,
    title: Vec<String>,
    country: Vec<String>,
    time_zone: Vec<String>,
    employees: Vec<Option<i64>>,
    attributes: Vec<Json<std::collections::BTreeMap<String, String>>>,
    source_plugin: Vec<String>,
    source_version: Vec<String>,
}

impl Columns {
    fn push(&mut self, lead: &NewLead, email: String) {
        let domain = lead_domain(lead, &email);
        self.email.push(email);
        self.first_name.push(lead.first_name.clone());
        self.last_name.push(lead.last_name.clone());
        self.company.push(lead.company.clone());
        self.domain.push(domain);
        self.title.push(lead.title.clone());
        self.country.push(lead.country.clone());
        self.time_zone.push(lead.time_zone.clone());
        self.employees.push(lead.employees.map(i64::from));
        self.attributes.push(Json(lead.attributes.clone()));
        self.source_plugin.push(lead.source_plugin.clone());
        self.source_version.push(lead.source_version.clone());
    }
}

#[tracing::instrument(name = "store.insert_leads", skip_all, fields(tenant = %tenant, campaign_id = campaign_id, rows = leads.len()))]
pub(super) async fn insert(
    pool: &PgPool,
    tenant: &str,
    campaign_id: i64,
    leads: &[NewLead],
) -> StoreResult<InsertOutcome> {
    let mut outcome = InsertOutcome::default();
    if leads.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let mut seen: HashSet<String> = HashSet::with_capacity(leads.len());
    let mut tx = pool.begin().await?;
    let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(campaign_id)
        .fetch_optional(&mut *tx)
        .await?;
    if owned.is_none() {
        return Err(StoreError::not_found("campaign", campaign_id));
    }
    for chunk in leads.chunks(LEAD_BATCH_ROWS) {
        let mut batch = first_rows(chunk, &mut seen, &mut outcome.duplicates);
        let emails: Vec<String> = batch.iter().map(|(_, email)| email.clone()).collect();
        let suppressed = suppressed_in(&mut *tx, tenant, &emails).await?;
        drop_suppressed(&mut batch, suppressed, &mut outcome.suppressed);
        if batch.is_empty() {
            continue;
        }
        // Concurrent imports touching the same addresses lock index entries
        // in the same (sorted) order, so they wait instead of deadlocking.
        batch.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        let mut columns = Columns::default();
        for (lead, email) in &batch {
            columns.push(lead, email.clone());
        }
        let inserted: HashSet<String> = sqlx::query_scalar::<_, String>(INSERT_SQL)
            .bind(tenant)
            .bind(campaign_id)
            .bind(now)
            .bind(columns.email)
            .bind(columns.first_name)
            .bind(columns.last_name)
            .bind(columns.company)
            .bind(columns.domain)
            .bind(columns.title)
            .bind(columns.country)
            .bind(columns.time_zone)
            .bind(columns.employees)
            .bind(columns.attributes)
            .bind(columns.source_plugin)
            .bind(columns.source_version)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
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
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let (addresses, domains) = addresses_and_domains(emails);
    let values: Vec<String> = sqlx::query_scalar(
        "SELECT value FROM suppressions WHERE tenant_id = $1 AND \
         ((kind = 'ADDRESS' AND value = ANY($2)) OR (kind = 'DOMAIN' AND value = ANY($3)))",
    )
    .bind(tenant)
    .bind(&addresses)
    .bind(&domains)
    .fetch_all(executor)
    .await?;
    if values.is_empty() {
        return Ok(Vec::new());
    }
    Ok(covered_by(emails, &values))
}

pub(super) async fn suppressed_subset(pool: &PgPool, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
    suppressed_in(pool, tenant, emails).await
}

pub(super) async fn get(pool: &PgPool, tenant: &str, id: i64) -> StoreResult<Lead> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("lead", id))?;
    lead_from_row(&row)
}

pub(super) async fn by_email(pool: &PgPool, tenant: &str, email: &str) -> StoreResult<Option<Lead>> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND email = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(normalize_email(email))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(lead_from_row).transpose()
}

pub(super) async fn by_emails(pool: &PgPool, tenant: &str, emails: &[String]) -> StoreResult<Vec<Lead>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let normalized: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE tenant_id = $1 AND email = ANY($2)");
    let rows = sqlx::query(&sql).bind(tenant).bind(&normalized).fetch_all(pool).await?;
    rows.iter().map(lead_from_row).collect()
}

pub(super) async fn in_state(
    pool: &PgPool,
    tenant: &str,
    campaign_id: i64,
    state: LeadState,
    limit: u32,
) -> StoreResult<Vec<Lead>> {
    // Matches the index order (unscored leads last).
    let sql = format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE campaign_id = $2 AND state = $3 AND tenant_id = $1 \
         ORDER BY score DESC NULLS LAST, id LIMIT $4"
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
    pool: &PgPool,
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

pub(super) async fn in_state_after(
    pool: &PgPool,
    tenant: &str,
    campaign_id: i64,
    state: LeadState,
    after_id: i64,
    limit: u32,
    not_scored_by: Option<&str>,
) -> StoreResult<Vec<Lead>> {
    let sql = format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE id > $5 AND campaign_id = $2 AND state = $3 \
         AND tenant_id = $1 AND ($4::text IS NULL OR scorer_version IS DISTINCT FROM $4) \
         ORDER BY id LIMIT $6"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(campaign_id)
        .bind(state.as_str())
        .bind(not_scored_by)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(lead_from_row).collect()
}
