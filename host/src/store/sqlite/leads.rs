//! The SQLite lead paths measured to pay on the direct path
//! (`direct.rs`): inserts, lead reads and suppression lookups. The plain
//! lead queries are shared (`store/sql/leads.rs`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sqlx::SqlitePool;

use super::direct::{self, column};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, NewLead};
use crate::store::shared::{
    LEAD_BATCH_ROWS, addresses_and_domains, covered_by, drop_suppressed, first_rows, from_json, from_ms, from_ms_opt,
    lead_domain, ms, normalize_email, parse_lead_state, to_json, to_u32,
};
use crate::store::{InsertOutcome, StoreError, StoreResult};

/// The columns [`lead_from_row`] reads, in its order.
const LEAD_COLUMNS: &str = "id, tenant_id, campaign_id, email, first_name, last_name, \
     company, domain, title, country, time_zone, employees, attributes, score, score_reasons, \
     scorer_version, state, current_step, next_action_at, source_plugin, source_version, \
     created_at, updated_at";

/// A row of [`LEAD_COLUMNS`] as a lead.
fn lead_from_row(row: &rusqlite::Row<'_>) -> StoreResult<Lead> {
    let employees: Option<i64> = column(row, 11, "leads.employees")?;
    let attributes: String = column(row, 12, "leads.attributes")?;
    let score_reasons: String = column(row, 14, "leads.score_reasons")?;
    let state: String = column(row, 16, "leads.state")?;
    Ok(Lead {
        id: column(row, 0, "leads.id")?,
        tenant_id: column(row, 1, "leads.tenant_id")?,
        campaign_id: column(row, 2, "leads.campaign_id")?,
        fields: NewLead {
            email: column(row, 3, "leads.email")?,
            first_name: column(row, 4, "leads.first_name")?,
            last_name: column(row, 5, "leads.last_name")?,
            company: column(row, 6, "leads.company")?,
            domain: column(row, 7, "leads.domain")?,
            title: column(row, 8, "leads.title")?,
            country: column(row, 9, "leads.country")?,
            time_zone: column(row, 10, "leads.time_zone")?,
            employees: employees.map(|n| to_u32("leads.employees", n)).transpose()?,
            attributes: from_json("leads.attributes", &attributes)?,
            source_plugin: column(row, 19, "leads.source_plugin")?,
            source_version: column(row, 20, "leads.source_version")?,
        },
        score: column(row, 13, "leads.score")?,
        score_reasons: from_json("leads.score_reasons", &score_reasons)?,
        scorer_version: column(row, 15, "leads.scorer_version")?,
        state: parse_lead_state(&state)?,
        current_step: to_u32("leads.current_step", column(row, 17, "leads.current_step")?)?,
        next_action_at: from_ms_opt("leads.next_action_at", column(row, 18, "leads.next_action_at")?)?,
        created_at: from_ms("leads.created_at", column(row, 21, "leads.created_at")?)?,
        updated_at: from_ms("leads.updated_at", column(row, 22, "leads.updated_at")?)?,
    })
}

/// The leads a `SELECT {LEAD_COLUMNS} … {condition}` finds with `params`.
async fn select(pool: &SqlitePool, condition: &str, params: Vec<Value>) -> StoreResult<Vec<Lead>> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads {condition}");
    direct::run(pool, move |db| {
        let mut statement = db.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        let mut leads = Vec::new();
        while let Some(row) = rows.next()? {
            leads.push(lead_from_row(row)?);
        }
        Ok(leads)
    })
    .await
}

/// One lead's INSERT; a known (tenant, email) changes nothing.
const INSERT_SQL: &str = "INSERT INTO leads (tenant_id, campaign_id, created_at, updated_at, state, email, \
     first_name, last_name, company, domain, title, country, time_zone, employees, attributes, \
     source_plugin, source_version) VALUES (?1, ?2, ?3, ?3, 'NEW', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
     ON CONFLICT (tenant_id, email) DO NOTHING";

#[tracing::instrument(name = "store.insert_leads", skip_all, fields(tenant = %tenant, campaign_id = campaign_id, rows = leads.len()))]
pub(super) async fn insert(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    leads: &[NewLead],
) -> StoreResult<InsertOutcome> {
    if leads.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let tenant = tenant.to_string();
    let leads = leads.to_vec();
    direct::run(pool, move |db| insert_now(db, &tenant, campaign_id, &leads)).await
}

/// [`insert`] in one transaction on `db`.
fn insert_now(db: &mut Connection, tenant: &str, campaign_id: i64, leads: &[NewLead]) -> StoreResult<InsertOutcome> {
    let mut outcome = InsertOutcome::default();
    let now = ms(Utc::now());
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The campaign must be the tenant's: checked once, not per row.
    let owned: Option<i64> = tx
        .query_row(
            "SELECT id FROM campaigns WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, campaign_id],
            |row| row.get(0),
        )
        .optional()?;
    if owned.is_none() {
        return Err(StoreError::not_found("campaign", campaign_id));
    }
    let mut seen: HashSet<String> = HashSet::with_capacity(leads.len());
    {
        let mut insert = tx.prepare(INSERT_SQL)?;
        for chunk in leads.chunks(LEAD_BATCH_ROWS) {
            let mut batch = first_rows(chunk, &mut seen, &mut outcome.duplicates);
            let emails: Vec<String> = batch.iter().map(|(_, email)| email.clone()).collect();
            let suppressed = suppressed_in(&tx, tenant, &emails)?;
            drop_suppressed(&mut batch, suppressed, &mut outcome.suppressed);
            for (lead, email) in batch {
                let domain = lead_domain(lead, &email);
                let added = insert.execute(params![
                    tenant,
                    campaign_id,
                    now,
                    email,
                    lead.first_name,
                    lead.last_name,
                    lead.company,
                    domain,
                    lead.title,
                    lead.country,
                    lead.time_zone,
                    lead.employees.map(i64::from),
                    to_json("leads.attributes", &lead.attributes)?,
                    lead.source_plugin,
                    lead.source_version,
                ])?;
                if added == 1 {
                    outcome.inserted += 1;
                } else {
                    outcome.duplicates.push(email);
                }
            }
        }
    }
    tx.commit()?;
    Ok(outcome)
}

/// The suppressed subset of normalized `emails`, on `db` (inside a
/// transaction or not).
fn suppressed_in(db: &Connection, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let (addresses, domains) = addresses_and_domains(emails);
    let mut statement = db.prepare_cached(
        "SELECT value FROM suppressions WHERE tenant_id = ?1 AND \
         ((kind = 'ADDRESS' AND value IN (SELECT value FROM json_each(?2))) OR \
          (kind = 'DOMAIN' AND value IN (SELECT value FROM json_each(?3))))",
    )?;
    let values = statement
        .query_map(
            params![tenant, to_json("addresses", &addresses)?, to_json("domains", &domains)?],
            |row| row.get::<_, String>(0),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Ok(Vec::new());
    }
    Ok(covered_by(emails, &values))
}

pub(super) async fn suppressed_subset(pool: &SqlitePool, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = tenant.to_string();
    let emails = emails.to_vec();
    direct::run(pool, move |db| suppressed_in(db, &tenant, &emails)).await
}

pub(super) async fn get(pool: &SqlitePool, tenant: &str, id: i64) -> StoreResult<Lead> {
    let found = select(
        pool,
        "WHERE tenant_id = ?1 AND id = ?2",
        vec![Value::Text(tenant.to_string()), Value::Integer(id)],
    )
    .await?;
    found
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::not_found("lead", id))
}

pub(super) async fn by_email(pool: &SqlitePool, tenant: &str, email: &str) -> StoreResult<Option<Lead>> {
    let found = select(
        pool,
        "WHERE tenant_id = ?1 AND email = ?2",
        vec![Value::Text(tenant.to_string()), Value::Text(normalize_email(email))],
    )
    .await?;
    Ok(found.into_iter().next())
}

pub(super) async fn by_emails(pool: &SqlitePool, tenant: &str, emails: &[String]) -> StoreResult<Vec<Lead>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let normalized: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    select(
        pool,
        "WHERE tenant_id = ?1 AND email IN (SELECT value FROM json_each(?2))",
        vec![
            Value::Text(tenant.to_string()),
            Value::Text(to_json("emails", &normalized)?),
        ],
    )
    .await
}

pub(super) async fn in_state(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    state: LeadState,
    limit: u32,
) -> StoreResult<Vec<Lead>> {
    // `score DESC` puts NULLs last in SQLite, matching the index order.
    select(
        pool,
        "WHERE campaign_id = ?2 AND state = ?3 AND tenant_id = ?1 ORDER BY score DESC, id LIMIT ?4",
        vec![
            Value::Text(tenant.to_string()),
            Value::Integer(campaign_id),
            Value::Text(state.as_str().to_string()),
            Value::Integer(i64::from(limit)),
        ],
    )
    .await
}

pub(super) async fn due(
    pool: &SqlitePool,
    tenant: &str,
    campaign_id: i64,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<Vec<Lead>> {
    select(
        pool,
        "WHERE campaign_id = ?2 AND next_action_at IS NOT NULL AND next_action_at <= ?3 AND tenant_id = ?1 \
         ORDER BY next_action_at, id LIMIT ?4",
        vec![
            Value::Text(tenant.to_string()),
            Value::Integer(campaign_id),
            Value::Integer(ms(now)),
            Value::Integer(i64::from(limit)),
        ],
    )
    .await
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
    select(
        pool,
        "NOT INDEXED WHERE id > ?1 AND campaign_id = ?2 AND state = ?3 AND tenant_id = ?4 \
         AND (?5 IS NULL OR scorer_version IS NULL OR scorer_version <> ?5) ORDER BY id LIMIT ?6",
        vec![
            Value::Integer(after_id),
            Value::Integer(campaign_id),
            Value::Text(state.as_str().to_string()),
            Value::Text(tenant.to_string()),
            not_scored_by.map_or(Value::Null, |v| Value::Text(v.to_string())),
            Value::Integer(i64::from(limit)),
        ],
    )
    .await
}
