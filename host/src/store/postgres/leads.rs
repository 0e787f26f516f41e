//! The PostgreSQL lead paths that differ from SQLite's direct ones:
//! inserts as one `UNNEST` statement per batch, lead reads, suppression
//! lookups with `= ANY`. The plain lead queries are shared
//! (`store/sql/leads.rs`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, NewLead};
use crate::store::shared::{
    addresses_and_domains, covered_by, drop_suppressed, first_rows, from_ms, from_ms_opt, lead_domain, ms,
    normalize_email, parse_lead_state, to_u32,
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

/// Rows copied and inserted per statement pair: a call of any size holds
/// at most this many rows' COPY text in memory at once.
const COPY_ROWS: usize = 5_000;

/// The connection's staging table, created on its first insert: temporary
/// (never WAL-logged, seen by no other session) and emptied at every commit.
const STAGING_SQL: &str = "DO $$ BEGIN IF to_regclass('pg_temp.lead_staging') IS NULL THEN \
     CREATE TEMP TABLE lead_staging (email text, first_name text, last_name text, company text, \
     domain text, title text, country text, time_zone text, employees int8, attributes jsonb, \
     source_plugin text, source_version text) ON COMMIT DELETE ROWS; END IF; END $$";

const COPY_SQL: &str = "COPY lead_staging FROM STDIN";

/// From the staging table into `leads`, in address order (concurrent
/// imports of the same addresses lock index entries in the same order, so
/// they wait instead of deadlocking); an address the tenant already has is
/// skipped, the others are returned.
const INSERT_SQL: &str = "INSERT INTO leads (tenant_id, campaign_id, created_at, updated_at, \
     state, email, first_name, last_name, company, domain, title, country, time_zone, employees, \
     attributes, source_plugin, source_version) \
     SELECT $1, $2, $3, $3, 'NEW', s.* FROM lead_staging s ORDER BY s.email \
     ON CONFLICT (tenant_id, email) DO NOTHING RETURNING email";

/// Leads in `COPY ... FROM STDIN` text format, one line per lead, in the
/// staging table's column order.
#[derive(Default)]
struct CopyText {
    text: Vec<u8>,
}

impl CopyText {
    fn push(&mut self, lead: &NewLead, email: &str) {
        let domain = lead_domain(lead, email);
        for field in [
            email,
            &lead.first_name,
            &lead.last_name,
            &lead.company,
            &domain,
            &lead.title,
            &lead.country,
            &lead.time_zone,
        ] {
            self.field(field);
            self.text.push(b'\t');
        }
        match lead.employees {
            Some(n) => self.text.extend_from_slice(n.to_string().as_bytes()),
            None => self.text.extend_from_slice(b"\\N"),
        }
        self.text.push(b'\t');
        let json = if lead
            .attributes
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            // jsonb refuses `\u0000`: the character goes, as from every text.
            let cleaned: BTreeMap<String, String> = lead
                .attributes
                .iter()
                .map(|(k, v)| (k.replace('\0', ""), v.replace('\0', "")))
                .collect();
            serde_json::to_string(&cleaned)
        } else {
            serde_json::to_string(&lead.attributes)
        };
        self.field(&json.unwrap_or_else(|_| "{}".into()));
        self.text.push(b'\t');
        self.field(&lead.source_plugin);
        self.text.push(b'\t');
        self.field(&lead.source_version);
        self.text.push(b'\n');
    }

    /// One value, escaped for the text format. PostgreSQL's text cannot
    /// hold U+0000, so NUL characters are dropped (a lead with one stored
    /// instead of stalling the whole batch); every other byte is kept.
    fn field(&mut self, value: &str) {
        for &byte in value.as_bytes() {
            match byte {
                b'\\' => self.text.extend_from_slice(b"\\\\"),
                b'\t' => self.text.extend_from_slice(b"\\t"),
                b'\n' => self.text.extend_from_slice(b"\\n"),
                b'\r' => self.text.extend_from_slice(b"\\r"),
                0 => {}
                _ => self.text.push(byte),
            }
        }
    }
}

/// Inserts `leads` into the campaign: per chunk, the rows new to this call
/// and not suppressed are copied into the staging table with `COPY`, then
/// moved into `leads` by one `INSERT ... SELECT`. One transaction.
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
    let mut seen: HashSet<String> = HashSet::with_capacity(leads.len().min(COPY_ROWS));
    let mut tx = pool.begin().await?;
    let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(campaign_id)
        .fetch_optional(&mut *tx)
        .await?;
    if owned.is_none() {
        return Err(StoreError::not_found("campaign", campaign_id));
    }
    sqlx::query(STAGING_SQL).execute(&mut *tx).await?;
    for (index, chunk) in leads.chunks(COPY_ROWS).enumerate() {
        let mut batch = first_rows(chunk, &mut seen, &mut outcome.duplicates);
        let emails: Vec<String> = batch.iter().map(|(_, email)| email.clone()).collect();
        let suppressed = suppressed_in(&mut *tx, tenant, &emails).await?;
        drop_suppressed(&mut batch, suppressed, &mut outcome.suppressed);
        if batch.is_empty() {
            continue;
        }
        batch.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        let mut copy = CopyText::default();
        for (lead, email) in &batch {
            copy.push(lead, email);
        }
        if index > 0 {
            sqlx::query("DELETE FROM lead_staging").execute(&mut *tx).await?;
        }
        copy_in(&mut tx, copy.text).await?;
        let inserted: HashSet<String> = sqlx::query_scalar::<_, String>(INSERT_SQL)
            .bind(tenant)
            .bind(campaign_id)
            .bind(now)
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

/// Sends `text` into the staging table with `COPY`.
async fn copy_in(conn: &mut PgConnection, text: Vec<u8>) -> StoreResult<()> {
    let mut sink = conn.copy_in_raw(COPY_SQL).await?;
    sink.send(text).await?;
    sink.finish().await?;
    Ok(())
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
    if after_id == 0 {
        refresh_statistics_if_off(pool, tenant, campaign_id, state).await?;
    }
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

/// The most leads counted to compare with the planner's estimate: enough
/// to tell "a few" from "far more than it thinks", cheap on any table.
const STATISTICS_CHECK_ROWS: i64 = 20_000;

/// Before the first page of a walk over a campaign's leads in `state`
/// (enrich and score walk every one): when the planner's estimate of how
/// many there are is far off, `ANALYZE leads` first.
///
/// Statistics are that far off right after a large import, or after a
/// step that moved every lead (enrich turns 100,000 NEW into ENRICHED just
/// before score reads them), until autovacuum gets to the table. Planned
/// for a handful of rows, each page of the walk sorts every matching lead
/// and each batch update hash-joins the whole tenant: measured on 100,000
/// leads, enrich and score each took 13-19 s instead of about 2.
async fn refresh_statistics_if_off(pool: &PgPool, tenant: &str, campaign_id: i64, state: LeadState) -> StoreResult<()> {
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM leads WHERE campaign_id = $1 AND state = $2 AND tenant_id = $3 \
         LIMIT $4) AS matching",
    )
    .bind(campaign_id)
    .bind(state.as_str())
    .bind(tenant)
    .bind(STATISTICS_CHECK_ROWS)
    .fetch_one(pool)
    .await?;
    // Literals, not parameters, so the estimate is for these values. Both
    // are the store's own (an id and a state name), never a caller's text.
    let explain = format!(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM leads WHERE campaign_id = {campaign_id} AND state = '{}'",
        state.as_str()
    );
    let plan: serde_json::Value = sqlx::query_scalar::<_, Json<serde_json::Value>>(&explain)
        .fetch_one(pool)
        .await?
        .0;
    let estimate = plan[0]["Plan"]["Plan Rows"]
        .as_f64()
        .unwrap_or(0.0)
        .min(STATISTICS_CHECK_ROWS as f64);
    let found = found as f64;
    if (found - estimate).abs() > 1_000.0 && (found > 4.0 * estimate || estimate > 4.0 * found) {
        tracing::debug!(
            campaign_id,
            state = state.as_str(),
            found,
            estimate,
            "refreshing lead statistics"
        );
        sqlx::query("ANALYZE leads").execute(pool).await?;
    }
    Ok(())
}
