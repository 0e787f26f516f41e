//! Batch writes on SQLite: enrichments (with their transitions) and scores,
//! one transaction per call, one prepared statement run per row (on the
//! direct path, where a row costs SQLite's work and little else).

use std::collections::HashSet;

use chrono::Utc;
use rusqlite::{Connection, TransactionBehavior, params};
use sqlx::SqlitePool;

use super::direct;
use crate::store::shared::{check_enrichments, ms, to_json};
use crate::store::{BatchOutcome, EnrichmentUpdate, ScoreUpdate, StoreResult};

/// One lead's enrichment. Attributes merge in SQL (new keys win; a lead
/// with none takes the patch as it is, which skips `json_patch` parsing
/// two documents); with a transition, the row changes only while the lead
/// is still in its `from`.
const ENRICH_SQL: &str = "UPDATE leads SET company = COALESCE(?3, company), domain = COALESCE(?4, domain), \
     title = COALESCE(?5, title), country = COALESCE(?6, country), time_zone = COALESCE(?7, time_zone), \
     employees = COALESCE(?8, employees), \
     attributes = CASE attributes WHEN '{}' THEN ?9 ELSE json_patch(attributes, ?9) END, \
     state = COALESCE(?11, state), updated_at = ?12 \
     WHERE tenant_id = ?1 AND id = ?2 AND (?10 IS NULL OR state = ?10)";

const TRANSITION_SQL: &str = "INSERT INTO lead_transitions \
     (tenant_id, lead_id, from_state, to_state, reason, plugin_version, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const SCORE_SQL: &str = "UPDATE leads SET score = ?3, score_reasons = ?4, scorer_version = ?5, updated_at = ?6 \
     WHERE tenant_id = ?1 AND id = ?2";

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
    let tenant = tenant.to_string();
    let rows: Vec<EnrichmentUpdate> = keep.into_iter().map(|i| updates[i].clone()).collect();
    direct::run(pool, move |db| {
        enrich_now(db, &tenant, &rows, &mut outcome)?;
        Ok(outcome)
    })
    .await
}

/// [`apply_enrichments`] in one transaction on `db`.
fn enrich_now(
    db: &mut Connection,
    tenant: &str,
    rows: &[EnrichmentUpdate],
    outcome: &mut BatchOutcome,
) -> StoreResult<()> {
    let now = ms(Utc::now());
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut enrich = tx.prepare(ENRICH_SQL)?;
        let mut record = tx.prepare(TRANSITION_SQL)?;
        for u in rows {
            let e = &u.enrichment;
            let moved = u.transition.as_ref();
            let changed = enrich.execute(params![
                tenant,
                u.lead_id,
                e.company,
                e.domain,
                e.title,
                e.country,
                e.time_zone,
                e.employees.map(i64::from),
                to_json("leads.attributes", &e.attributes)?,
                moved.map(|t| t.from.as_str()),
                moved.map(|t| t.to.as_str()),
                now,
            ])?;
            if changed == 0 {
                // Missing, another tenant's, or moved meanwhile.
                outcome.skipped.push(u.lead_id);
                continue;
            }
            outcome.applied += 1;
            if let Some(t) = moved {
                record.execute(params![
                    tenant,
                    t.lead_id,
                    t.from.as_str(),
                    t.to.as_str(),
                    t.reason,
                    t.plugin_version,
                    ms(t.at),
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[tracing::instrument(name = "store.update_scores", skip_all, fields(tenant = %tenant, rows = updates.len()))]
pub(super) async fn update_scores(
    pool: &SqlitePool,
    tenant: &str,
    updates: &[ScoreUpdate],
) -> StoreResult<BatchOutcome> {
    if updates.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let tenant = tenant.to_string();
    let updates = updates.to_vec();
    direct::run(pool, move |db| score_now(db, &tenant, &updates)).await
}

/// [`update_scores`] in one transaction on `db`.
fn score_now(db: &mut Connection, tenant: &str, updates: &[ScoreUpdate]) -> StoreResult<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    let now = ms(Utc::now());
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut score = tx.prepare(SCORE_SQL)?;
        // A lead listed twice is one lead: the later score wins.
        let mut applied = HashSet::with_capacity(updates.len());
        for u in updates {
            let changed = score.execute(params![
                tenant,
                u.lead_id,
                u.score,
                to_json("leads.score_reasons", &u.reasons)?,
                u.scorer_version,
                now,
            ])?;
            if changed == 0 {
                outcome.skipped.push(u.lead_id);
            } else {
                applied.insert(u.lead_id);
            }
        }
        outcome.applied = applied.len() as u64;
    }
    tx.commit()?;
    Ok(outcome)
}
