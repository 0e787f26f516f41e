//! Step 3, score: leads waiting for first contact through the scorer in
//! batches; the score, its reasons and the scorer version are stored.
//!
//! A lead is (re)scored when it has no score from the active scorer
//! version, so swapping the scorer rescales who is contacted first.

use super::context::CycleContext;
use super::report::StepReport;
use super::wire;
use crate::domain::lifecycle::LeadState;
use crate::plugins::PluginKind;

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
    let leads = match ctx
        .store
        .leads_in_state(&ctx.tenant, ctx.campaign.id, state, MAX_PER_CYCLE)
        .await
    {
        Ok(leads) => leads,
        Err(e) => return report.failed("store", format!("cannot read {} leads: {e}", state.as_str())),
    };
    let version = plugin.version().to_string();
    let todo: Vec<_> = leads
        .into_iter()
        .filter(|l| l.scorer_version.as_deref() != Some(version.as_str()))
        .collect();
    for batch in todo.chunks(BATCH) {
        let wire_leads: Vec<_> = batch.iter().map(wire::lead).collect();
        let scores = match plugin.score(ctx.scope(), &wire_leads).await {
            Ok(scores) => scores,
            Err(e) => {
                report.fail(plugin.name(), e.to_string());
                break;
            }
        };
        report.add("batches", 1);
        for (lead, score) in batch.iter().zip(scores) {
            match ctx
                .store
                .update_score(&ctx.tenant, lead.id, f64::from(score.value), &score.reasons, &version)
                .await
            {
                Ok(()) => {
                    report.add("scored", 1);
                    if f64::from(score.value) >= ctx.campaign.config.score_threshold {
                        report.add("above_threshold", 1);
                    }
                }
                Err(e) => report.fail(&lead.fields.email, format!("cannot store the score: {e}")),
            }
        }
    }
    report
}
