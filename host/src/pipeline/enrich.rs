//! Step 2, enrich: NEW leads through the bound enrichers in batches;
//! NEW → ENRICHED, or NEW → DEAD when an enricher finds the address
//! undeliverable.

use std::collections::HashSet;

use super::context::CycleContext;
use super::report::StepReport;
use super::wire;
use crate::domain::lifecycle::{self, LeadState};
use crate::domain::model::{LeadEnrichment, LeadTransition};
use crate::plugins::PluginKind;
use crate::runtime::bindings::types::Enrichment;
use crate::store::EnrichmentUpdate;

/// Leads per enricher call: large enough that the call boundary is noise,
/// small enough to stay far below the boundary's size cap.
pub const BATCH: u32 = 500;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("enrich");
    if !ctx.running() {
        return report.skipped(ctx.not_running_note());
    }
    let names = ctx.campaign.config.plugins.enrichers.clone();
    if names.is_empty() {
        return report.skipped("no enricher bound; NEW leads are contacted as they are");
    }
    let mut plugins = Vec::new();
    for name in &names {
        match ctx.plugin(name, PluginKind::Enricher) {
            Ok(plugin) => {
                report.used(plugin.name(), plugin.version());
                plugins.push(plugin);
            }
            Err(reason) => return report.failed(name, reason),
        }
    }
    let all_versions = plugins
        .iter()
        .map(|p| format!("{}@{}", p.name(), p.version()))
        .collect::<Vec<_>>()
        .join(",");
    // Leads whose enrichment failed stay NEW; remember them so the loop
    // ends and each query skips past them (enriched ones leave NEW).
    let mut stuck = HashSet::new();
    loop {
        let leads = match ctx
            .store
            .leads_in_state(&ctx.tenant, ctx.campaign.id, LeadState::New, BATCH + stuck.len() as u32)
            .await
        {
            Ok(leads) => leads,
            Err(e) => return report.failed("store", format!("cannot read NEW leads: {e}")),
        };
        let mut batch: Vec<_> = leads.into_iter().filter(|l| !stuck.contains(&l.id)).collect();
        batch.truncate(BATCH as usize);
        if batch.is_empty() {
            break;
        }
        report.add("batches", 1);
        let mut results: Vec<Vec<Result<Enrichment, String>>> = Vec::new();
        let mut call_failed = false;
        let wire_leads: Vec<_> = batch.iter().map(wire::lead).collect();
        for plugin in &plugins {
            match plugin.enrich(ctx.scope(), &wire_leads).await {
                Ok(out) => results.push(out),
                Err(e) => {
                    report.fail(plugin.name(), e.to_string());
                    call_failed = true;
                    break;
                }
            }
        }
        if call_failed {
            break;
        }
        // Until a lead leaves NEW it counts as stuck.
        stuck.extend(batch.iter().map(|l| l.id));
        let mut updates = Vec::with_capacity(batch.len());
        let mut moves = Vec::with_capacity(batch.len());
        for (i, lead) in batch.iter().enumerate() {
            let mut merged = LeadEnrichment::default();
            let mut deliverable = true;
            let mut notes = Vec::new();
            let mut failure = None;
            let mut version = None;
            for (plugin, out) in plugins.iter().zip(&results) {
                match out.get(i) {
                    Some(Ok(e)) => {
                        merge(&mut merged, e);
                        notes.extend(e.notes.iter().cloned());
                        if !e.deliverable && deliverable {
                            deliverable = false;
                            version = Some(format!("{}@{}", plugin.name(), plugin.version()));
                        }
                    }
                    Some(Err(reason)) => failure = Some(format!("{}: {reason}", plugin.name())),
                    None => failure = Some(format!("{}: returned no result for this lead", plugin.name())),
                }
            }
            if let Some(reason) = failure {
                report.fail(&lead.fields.email, reason);
                continue;
            }
            if !notes.is_empty() {
                merged.attributes.insert("enrich_notes".into(), notes.join("; "));
            }
            let (to, reason, by) = if deliverable {
                (LeadState::Enriched, "enriched".to_string(), Some(all_versions.clone()))
            } else {
                (LeadState::Dead, format!("undeliverable: {}", notes.join("; ")), version)
            };
            if let Err(e) = lifecycle::transition(lead.state, to) {
                report.fail(&lead.fields.email, e.to_string());
                continue;
            }
            updates.push(EnrichmentUpdate {
                lead_id: lead.id,
                enrichment: merged,
                transition: Some(LeadTransition {
                    lead_id: lead.id,
                    from: lead.state,
                    to,
                    reason: reason.clone(),
                    plugin_version: by.clone(),
                    at: ctx.now,
                }),
            });
            moves.push((lead, to, reason, by));
        }
        let outcome = match ctx.store.apply_enrichments(&ctx.tenant, &updates).await {
            Ok(outcome) => outcome,
            Err(e) => {
                report.fail("store", format!("cannot store {} enrichments: {e}", updates.len()));
                break;
            }
        };
        let skipped: HashSet<i64> = outcome.skipped.into_iter().collect();
        for (lead, to, reason, by) in moves {
            if skipped.contains(&lead.id) {
                report.fail(
                    &lead.fields.email,
                    format!("not enriched: the lead left {} meanwhile", lead.state.as_str()),
                );
                continue;
            }
            ctx.record_move(lead, to, &reason, by);
            stuck.remove(&lead.id);
            report.add(
                if to == LeadState::Enriched {
                    "enriched"
                } else {
                    "undeliverable"
                },
                1,
            );
        }
    }
    report
}

/// Later enrichers override earlier ones field by field.
fn merge(into: &mut LeadEnrichment, e: &Enrichment) {
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if let Some(v) = value.as_ref().filter(|v| !v.trim().is_empty()) {
            *slot = Some(v.clone());
        }
    };
    set(&mut into.company, &e.company);
    set(&mut into.domain, &e.domain);
    set(&mut into.title, &e.title);
    set(&mut into.country, &e.country);
    if e.employees.is_some() {
        into.employees = e.employees;
    }
    for a in &e.attributes {
        into.attributes.insert(a.key.clone(), a.value.clone());
    }
}
