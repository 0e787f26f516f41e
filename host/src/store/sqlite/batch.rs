//! Batch writes on SQLite: enrichments (with their transitions) and scores,
//! one transaction per call, one multi-row statement per chunk.
//!
//! Each chunk's rows travel as a `VALUES` list bound with plain `?`
//! placeholders (see `leads::ROW_PLACEHOLDERS` for why not `$N`) and are
//! joined to `leads` with `UPDATE … FROM`, so 500 leads cost one statement
//! instead of 500.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::ms;
use crate::store::shared::{check_enrichments, not_applied, to_json};
use crate::store::{BatchOutcome, EnrichmentUpdate, ScoreUpdate, StoreResult};

/// Rows per statement: 10 parameters a row stays far below SQLite's 32766.
const CHUNK_ROWS: usize = 500;

/// `n` copies of `row` separated by commas.
fn rows(row: &str, n: usize) -> String {
    let mut sql = String::with_capacity(n * (row.len() + 2));
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
    sql
}

fn enrich_sql(n: usize) -> String {
    format!(
        "WITH u(id, company, domain, title, country, time_zone, employees, attributes, from_state, to_state) \
         AS (VALUES {}) \
         UPDATE leads SET company = COALESCE(u.company, leads.company), \
         domain = COALESCE(u.domain, leads.domain), title = COALESCE(u.title, leads.title), \
         country = COALESCE(u.country, leads.country), time_zone = COALESCE(u.time_zone, leads.time_zone), \
         employees = COALESCE(u.employees, leads.employees), \
         attributes = json_patch(leads.attributes, u.attributes), \
         state = COALESCE(u.to_state, leads.state), updated_at = ? \
         FROM u WHERE leads.tenant_id = ? AND leads.id = u.id \
         AND (u.from_state IS NULL OR leads.state = u.from_state)",
        rows("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n)
    )
}

fn transitions_sql(n: usize) -> String {
    format!(
        "INSERT INTO lead_transitions (tenant_id, lead_id, from_state, to_state, reason, plugin_version, at) \
         VALUES {}",
        rows("(?, ?, ?, ?, ?, ?, ?)", n)
    )
}

fn score_sql(n: usize) -> String {
    format!(
        "WITH u(id, score, reasons, version) AS (VALUES {}) \
         UPDATE leads SET score = u.score, score_reasons = u.reasons, scorer_version = u.version, \
         updated_at = ? FROM u WHERE leads.tenant_id = ? AND leads.id = u.id",
        rows("(?, ?, ?, ?)", n)
    )
}

#[tracing::instrument(name = "store.apply_enrichments", skip_all, fields(tenant = %tenant, rows = updates.len()))]
pub(super) async fn apply_enrichments(
    pool: &SqlitePool,
    tenant: &str,
    updates: &[EnrichmentUpdate],
) -> StoreResult<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    let keep = check_enrichments(updates, &mut outcome.skipped)?;
    if keep.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for chunk in keep.chunks(CHUNK_ROWS) {
        let rows: Vec<&EnrichmentUpdate> = chunk.iter().map(|&i| &updates[i]).collect();
        // Fast path: every row applies, so nothing has to come back row by
        // row. Otherwise undo the chunk, find the rows that apply, redo.
        sqlx::query("SAVEPOINT enrich_chunk").execute(&mut *tx).await?;
        let changed = update_enrichments(&mut tx, tenant, now, &rows).await?;
        let rows = if changed == rows.len() as u64 {
            rows
        } else {
            sqlx::query("ROLLBACK TO enrich_chunk").execute(&mut *tx).await?;
            let states = current_states(&mut tx, tenant, rows.iter().map(|u| u.lead_id)).await?;
            let (apply, skip): (Vec<_>, Vec<_>) = rows.into_iter().partition(|u| {
                states
                    .get(&u.lead_id)
                    .is_some_and(|state| u.transition.as_ref().is_none_or(|t| t.from.as_str() == state))
            });
            outcome.skipped.extend(skip.iter().map(|u| u.lead_id));
            if !apply.is_empty() {
                update_enrichments(&mut tx, tenant, now, &apply).await?;
            }
            apply
        };
        outcome.applied += rows.len() as u64;
        let moved: Vec<_> = rows.iter().filter_map(|u| u.transition.as_ref()).collect();
        if !moved.is_empty() {
            let sql = transitions_sql(moved.len());
            let mut query = sqlx::query(&sql);
            for t in moved {
                query = query
                    .bind(tenant)
                    .bind(t.lead_id)
                    .bind(t.from.as_str())
                    .bind(t.to.as_str())
                    .bind(t.reason.as_str())
                    .bind(t.plugin_version.as_deref())
                    .bind(ms(t.at));
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE enrich_chunk").execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Runs one chunk's UPDATE; how many leads it changed.
async fn update_enrichments(
    tx: &mut Transaction<'_, Sqlite>,
    tenant: &str,
    now: i64,
    rows: &[&EnrichmentUpdate],
) -> StoreResult<u64> {
    let sql = enrich_sql(rows.len());
    let mut query = sqlx::query(&sql);
    for u in rows {
        let e = &u.enrichment;
        query = query
            .bind(u.lead_id)
            .bind(e.company.as_deref())
            .bind(e.domain.as_deref())
            .bind(e.title.as_deref())
            .bind(e.country.as_deref())
            .bind(e.time_zone.as_deref())
            .bind(e.employees.map(i64::from))
            .bind(to_json("leads.attributes", &e.attributes)?)
            .bind(u.transition.as_ref().map(|t| t.from.as_str()))
            .bind(u.transition.as_ref().map(|t| t.to.as_str()));
    }
    Ok(query.bind(now).bind(tenant).execute(&mut **tx).await?.rows_affected())
}

/// The state of each of the tenant's leads among `ids` (missing ones are left out).
async fn current_states(
    tx: &mut Transaction<'_, Sqlite>,
    tenant: &str,
    ids: impl Iterator<Item = i64>,
) -> StoreResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.collect();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM leads WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))")
            .bind(tenant)
            .bind(to_json("lead ids", &ids)?)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().collect())
}

#[tracing::instrument(name = "store.update_scores", skip_all, fields(tenant = %tenant, rows = updates.len()))]
pub(super) async fn update_scores(
    pool: &SqlitePool,
    tenant: &str,
    updates: &[ScoreUpdate],
) -> StoreResult<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    if updates.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for chunk in updates.chunks(CHUNK_ROWS) {
        let sql = score_sql(chunk.len());
        let mut query = sqlx::query(&sql);
        for u in chunk {
            query = query
                .bind(u.lead_id)
                .bind(u.score)
                .bind(to_json("leads.score_reasons", &u.reasons)?)
                .bind(u.scorer_version.as_str());
        }
        let changed = query.bind(now).bind(tenant).execute(&mut *tx).await?.rows_affected();
        let distinct: HashSet<i64> = chunk.iter().map(|u| u.lead_id).collect();
        if changed == distinct.len() as u64 {
            outcome.applied += changed;
            continue;
        }
        // Some leads are missing: only then ask which.
        let present: HashSet<i64> = current_states(&mut tx, tenant, distinct.into_iter())
            .await?
            .into_keys()
            .collect();
        outcome.applied += present.len() as u64;
        outcome
            .skipped
            .extend(not_applied(chunk.iter().map(|u| u.lead_id), &present));
    }
    tx.commit().await?;
    Ok(outcome)
}
