//! Step 3, score: leads waiting for first contact through the scorer in
//! batches; the score, its reasons and the scorer version are stored.
//!
//! A lead is (re)scored when it has no score from the active scorer
//! version, so swapping the scorer rescales who is contacted first.
//!
//! Leads are read one page at a time by id, so memory stays flat however
//! many wait. Pages are pipelined: while one page's scores are written (on
//! the store's own thread), the next page is read and scored.

use std::collections::HashSet;

use super::env::CycleEnv;
use super::report::StepReport;
use super::step::{Step, StepOutcome};
use super::wire;
use crate::domain::lifecycle::LeadState;
use crate::domain::model::Lead;
use crate::plugins::{LoadedPlugin, PluginKind};
use crate::store::{BatchOutcome, ScoreUpdate, StoreResult};

/// Leads per scorer call (and per page read from the store).
pub const BATCH: usize = 1_000;
/// Leads considered per cycle (the rest wait for the next one).
const MAX_PER_CYCLE: u32 = 200_000;

/// The state leads wait for first contact in: ENRICHED when the campaign has
/// enrichers, NEW otherwise.
pub fn waiting_state(env: &CycleEnv<'_>) -> LeadState {
    if env.campaign.config.plugins.enrichers.is_empty() {
        LeadState::New
    } else {
        LeadState::Enriched
    }
}

/// A page read and scored, waiting to be written.
struct Scored {
    page: Vec<Lead>,
    updates: Vec<ScoreUpdate>,
}

/// Why the step stops early: (subject, reason) for the report.
type Stop = (String, String);

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    report(env).await.into()
}

async fn report(env: &CycleEnv<'_>) -> StepReport {
    let mut report = Step::Score.report();
    let Some(name) = env.campaign.config.plugins.scorer.clone() else {
        return report.skipped("no scorer bound; the score threshold does not apply");
    };
    let plugin = match env.plugin(&name, PluginKind::Scorer) {
        Ok(plugin) => plugin,
        Err(reason) => return report.failed(&name, reason),
    };
    report.used(plugin.name(), plugin.version());
    let state = waiting_state(env);
    let version = plugin.version().to_string();
    let threshold = env.campaign.config.score_threshold;
    let env: &CycleEnv<'_> = env;
    let mut after_id = 0;
    let mut considered = 0;
    let mut pending: Option<Scored> = None;
    loop {
        let more = considered < MAX_PER_CYCLE;
        let write = async {
            match pending.take() {
                Some(scored) => {
                    let result = env.store.update_scores(&env.tenant, &scored.updates).await;
                    Some((scored, result))
                }
                None => None,
            }
        };
        let next = async {
            if more {
                read_and_score(env, &plugin, state, &version, after_id).await
            } else {
                Ok(None)
            }
        };
        let (written, next) = tokio::join!(write, next);
        if let Some((scored, result)) = written
            && !record(&mut report, scored, result, threshold)
        {
            break;
        }
        match next {
            Ok(Some((scored, last_id))) => {
                report.add("batches", 1);
                after_id = last_id;
                considered += scored.page.len() as u32;
                if scored.updates.len() == scored.page.len() {
                    pending = Some(scored);
                } else {
                    report.fail(
                        plugin.name(),
                        format!(
                            "returned {} scores for {} leads; the page is skipped",
                            scored.updates.len(),
                            scored.page.len()
                        ),
                    );
                }
            }
            Ok(None) => {
                if pending.is_none() {
                    break;
                }
                // One more turn writes the last page.
                considered = MAX_PER_CYCLE;
            }
            Err((subject, reason)) => {
                report.fail(subject, reason);
                if let Some(scored) = pending.take() {
                    let result = env.store.update_scores(&env.tenant, &scored.updates).await;
                    record(&mut report, scored, result, threshold);
                }
                break;
            }
        }
    }
    report
}

/// Reads the next page of leads to score and scores it; `None` when none
/// are left. Also returns the page's last id.
async fn read_and_score(
    env: &CycleEnv<'_>,
    plugin: &LoadedPlugin,
    state: LeadState,
    version: &str,
    after_id: i64,
) -> Result<Option<(Scored, i64)>, Stop> {
    let page = env
        .store
        .leads_in_state_after(
            &env.tenant,
            env.campaign.id,
            state,
            after_id,
            BATCH as u32,
            Some(version),
        )
        .await
        .map_err(|e| {
            (
                "store".to_string(),
                format!("cannot read {} leads: {e}", state.as_str()),
            )
        })?;
    let Some(last_id) = page.last().map(|l| l.id) else {
        return Ok(None);
    };
    let wire_leads: Vec<_> = page.iter().map(wire::lead).collect();
    let scores = plugin
        .score(env.scope(), &wire_leads)
        .await
        .map_err(|e| (plugin.name().to_string(), e.to_string()))?;
    if let Some(shadow) = &env.shadow {
        shadow.score(plugin, env.scope(), &wire_leads, &scores).await;
    }
    let updates = page
        .iter()
        .zip(scores)
        .map(|(lead, score)| ScoreUpdate {
            lead_id: lead.id,
            score: f64::from(score.value),
            reasons: score.reasons,
            scorer_version: version.to_string(),
        })
        .collect::<Vec<_>>();
    // A scorer returning too few scores shows as a shorter `updates`.
    Ok(Some((Scored { page, updates }, last_id)))
}

/// Counts a written page into the report; `false` when the store failed
/// (the step stops: the next pages would fail the same way).
fn record(report: &mut StepReport, scored: Scored, result: StoreResult<BatchOutcome>, threshold: f64) -> bool {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            report.fail("store", format!("cannot store {} scores: {e}", scored.updates.len()));
            return false;
        }
    };
    let skipped: HashSet<i64> = outcome.skipped.into_iter().collect();
    for (lead, update) in scored.page.iter().zip(&scored.updates) {
        if skipped.contains(&lead.id) {
            report.fail(&lead.fields.email, "cannot store the score: the lead is gone");
            continue;
        }
        report.add("scored", 1);
        if update.score >= threshold {
            report.add("above_threshold", 1);
        }
    }
    true
}
