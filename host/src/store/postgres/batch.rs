//! Batch writes on PostgreSQL: enrichments (with their transitions) and
//! scores, one transaction per call, one `UNNEST` statement per chunk (the
//! rows travel as column arrays, so the statement text never changes).

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use sqlx::PgPool;
use sqlx::types::Json;

use crate::store::shared::{check_enrichments, ms, not_applied};
use crate::store::{BatchOutcome, EnrichmentUpdate, ScoreUpdate, StoreResult};

/// Rows per statement: arrays have no parameter limit, this bounds the
/// statement's size and the time row locks are held before the next chunk.
const CHUNK_ROWS: usize = 1_000;

const ENRICH_SQL: &str = "UPDATE leads AS l SET company = COALESCE(u.company, l.company), \
     domain = COALESCE(u.domain, l.domain), title = COALESCE(u.title, l.title), \
     country = COALESCE(u.country, l.country), time_zone = COALESCE(u.time_zone, l.time_zone), \
     employees = COALESCE(u.employees, l.employees), attributes = l.attributes || u.attributes, \
     state = COALESCE(u.to_state, l.state), updated_at = $2 \
     FROM UNNEST($3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int8[], \
     $10::jsonb[], $11::text[], $12::text[]) \
     AS u(id, company, domain, title, country, time_zone, employees, attributes, from_state, to_state) \
     WHERE l.tenant_id = $1 AND l.id = u.id AND (u.from_state IS NULL OR l.state = u.from_state) \
     RETURNING l.id";

const TRANSITIONS_SQL: &str = "INSERT INTO lead_transitions (tenant_id, lead_id, from_state, to_state, \
     reason, plugin_version, at) SELECT $1, * FROM UNNEST($2::int8[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::int8[])";

const SCORE_SQL: &str = "UPDATE leads AS l SET score = u.score, score_reasons = u.reasons, \
     scorer_version = u.version, updated_at = $2 \
     FROM UNNEST($3::int8[], $4::float8[], $5::jsonb[], $6::text[]) AS u(id, score, reasons, version) \
     WHERE l.tenant_id = $1 AND l.id = u.id RETURNING l.id";

#[tracing::instrument(name = "store.apply_enrichments", skip_all, fields(tenant = %tenant, rows = updates.len()))]
pub(super) async fn apply_enrichments(
    pool: &PgPool,
    tenant: &str,
    updates: &[EnrichmentUpdate],
) -> StoreResult<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    let keep = check_enrichments(updates, &mut outcome.skipped)?;
    if keep.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let mut tx = pool.begin().await?;
    for chunk in keep.chunks(CHUNK_ROWS) {
        let rows: Vec<&EnrichmentUpdate> = chunk.iter().map(|&i| &updates[i]).collect();
        let text = |f: fn(&EnrichmentUpdate) -> Option<&str>| -> Vec<Option<String>> {
            rows.iter().map(|u| f(u).map(str::to_string)).collect()
        };
        let attributes: Vec<Json<&BTreeMap<String, String>>> =
            rows.iter().map(|u| Json(&u.enrichment.attributes)).collect();
        let applied: HashSet<i64> = sqlx::query_scalar::<_, i64>(ENRICH_SQL)
            .bind(tenant)
            .bind(now)
            .bind(rows.iter().map(|u| u.lead_id).collect::<Vec<_>>())
            .bind(text(|u| u.enrichment.company.as_deref()))
            .bind(text(|u| u.enrichment.domain.as_deref()))
            .bind(text(|u| u.enrichment.title.as_deref()))
            .bind(text(|u| u.enrichment.country.as_deref()))
            .bind(text(|u| u.enrichment.time_zone.as_deref()))
            .bind(
                rows.iter()
                    .map(|u| u.enrichment.employees.map(i64::from))
                    .collect::<Vec<_>>(),
            )
            .bind(attributes)
            .bind(text(|u| u.transition.as_ref().map(|t| t.from.as_str())))
            .bind(text(|u| u.transition.as_ref().map(|t| t.to.as_str())))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        outcome.applied += applied.len() as u64;
        outcome
            .skipped
            .extend(not_applied(rows.iter().map(|u| u.lead_id), &applied));
        let moved: Vec<_> = rows
            .iter()
            .filter_map(|u| u.transition.as_ref())
            .filter(|t| applied.contains(&t.lead_id))
            .collect();
        if moved.is_empty() {
            continue;
        }
        sqlx::query(TRANSITIONS_SQL)
            .bind(tenant)
            .bind(moved.iter().map(|t| t.lead_id).collect::<Vec<_>>())
            .bind(moved.iter().map(|t| t.from.as_str()).collect::<Vec<_>>())
            .bind(moved.iter().map(|t| t.to.as_str()).collect::<Vec<_>>())
            .bind(moved.iter().map(|t| t.reason.as_str()).collect::<Vec<_>>())
            .bind(moved.iter().map(|t| t.plugin_version.as_deref()).collect::<Vec<_>>())
            .bind(moved.iter().map(|t| ms(t.at)).collect::<Vec<i64>>())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

#[tracing::instrument(name = "store.update_scores", skip_all, fields(tenant = %tenant, rows = updates.len()))]
pub(super) async fn update_scores(pool: &PgPool, tenant: &str, updates: &[ScoreUpdate]) -> StoreResult<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    if updates.is_empty() {
        return Ok(outcome);
    }
    let now = ms(Utc::now());
    let mut tx = pool.begin().await?;
    for chunk in updates.chunks(CHUNK_ROWS) {
        let applied: HashSet<i64> = sqlx::query_scalar::<_, i64>(SCORE_SQL)
            .bind(tenant)
            .bind(now)
            .bind(chunk.iter().map(|u| u.lead_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|u| u.score).collect::<Vec<_>>())
            .bind(chunk.iter().map(|u| Json(&u.reasons)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|u| u.scorer_version.as_str()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        outcome.applied += applied.len() as u64;
        outcome
            .skipped
            .extend(not_applied(chunk.iter().map(|u| u.lead_id), &applied));
    }
    tx.commit().await?;
    Ok(outcome)
}
