//! Step 3, score: leads waiting for first contact through the scorer in
//! batches; the score, its reasons and the scorer version are stored.
//!
//! A lead is (re)scored when it has no score from the active scorer
//! version, so swapping the scorer rescales who is contacted first.

use std::collections::HashSet;

use super::context::CycleContext;
use super::report::StepReport;
use super::wire;
use crate::domain::lifecycle::LeadState;
use crate::plugins::PluginKind;
use crate::store::ScoreUpdate;

/// Leads per scorer call.
pub const BATCH: usize = 500;
/// Leads considered per cycle (the rest wait for the next one).
const MAX_PER_CYCLE: u32 = 200_000;

/// The state leads wait for first contact in: ENRICHED when the campaign has
/// enrichers, NEW otherwise.
pub fn waiting_state(ctx: &CycleContext<'_>) -> LeadState {
    if ctx.campaign.config.plugins.enrichers.is_empty() {
        LeadState::New
    } else {
        LeadState::Enriched
    }
}

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("score");
    if !ctx.running() {
        return report.skipped(ctx.not_running_note());
    }
    let Some(name) = ctx.campaign.config.plugins.scorer.clone() else {
        return report.skipped("no scorer bound; the score threshold does not apply");
    };
    let plugin = match ctx.plugin(&name, PluginKind::Scorer) {
        Ok(plugin) => plugin,
        Err(reason) => return report.failed(&name, reason),
    };
    report.used(plugin.name(), plugin.version());
    let state = waiting_state(ctx);
    let version = plugin.version().to_string();
    let threshold = ctx.campaign.config.score_threshold;
    // One page in memory at a time: the page's leads go to the scorer and
    // their scores back to the store before the next page is read.
    let mut after_id = 0;
    let mut considered = 0;
    while considered < MAX_PER_CYCLE {
        let page = match ctx
            .store
            .unscored_leads(&ctx.tenant, ctx.campaign.id, state, &version, after_id, BATCH as u32)
            .await
        {
            Ok(page) => page,
            Err(e) => return report.failed("store", format!("cannot read {} leads: {e}", state.as_str())),
        };
        let Some(last) = page.last() else { break };
        after_id = last.id;
        considered += page.len() as u32;
        let wire_leads: Vec<_> = page.iter().map(wire::lead).collect();
        let scores = match plugin.score(ctx.scope(), &wire_leads).await {
            Ok(scores) => scores,
            Err(e) => {
                report.fail(plugin.name(), e.to_string());
                break;
            }
        };
        report.add("batches", 1);
        if scores.len() != page.len() {
            report.fail(
                plugin.name(),
                format!(
                    "returned {} scores for {} leads; the page is skipped",
                    scores.len(),
                    page.len()
                ),
            );
            continue;
        }
        let updates: Vec<ScoreUpdate> = page
            .iter()
            .zip(scores)
            .map(|(lead, score)| ScoreUpdate {
                lead_id: lead.id,
                score: f64::from(score.value),
                reasons: score.reasons,
                scorer_version: version.clone(),
            })
            .collect();
        let outcome = match ctx.store.update_scores(&ctx.tenant, &updates).await {
            Ok(outcome) => outcome,
            Err(e) => {
                report.fail("store", format!("cannot store {} scores: {e}", updates.len()));
                break;
            }
        };
        let skipped: HashSet<i64> = outcome.skipped.into_iter().collect();
        for (lead, update) in page.iter().zip(&updates) {
            if skipped.contains(&lead.id) {
                report.fail(&lead.fields.email, "cannot store the score: the lead is gone");
                continue;
            }
            report.add("scored", 1);
            if update.score >= threshold {
                report.add("above_threshold", 1);
            }
        }
    }
    report
}
