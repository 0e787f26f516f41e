//! Step 2, enrich: NEW leads through the bound enrichers in batches;
//! NEW → ENRICHED, or NEW → DEAD when an enricher finds the address
//! undeliverable.
//!
//! NEW leads are read one page at a time by id (a lead whose enrichment
//! failed stays NEW and is retried next cycle), and each page's results are
//! stored in one batch. Pages are pipelined: while one page is written (on
//! the store's own thread), the next is read and enriched.

use std::collections::HashSet;

use super::env::CycleEnv;
use super::report::{StepFailure, StepReport};
use super::step::{Moves, Step, StepOutcome};
use super::wire;
use crate::domain::lifecycle::{self, LeadState};
use crate::domain::model::{Lead, LeadEnrichment, LeadTransition};
use crate::plugins::{LoadedPlugin, PluginKind};
use crate::runtime::bindings::types::Enrichment;
use crate::store::EnrichmentUpdate;

/// Leads per enricher call: large enough that the call boundary is noise,
/// small enough to stay far below the boundary's size cap.
pub const BATCH: u32 = 1_000;

/// A page enriched, waiting to be written.
#[derive(Default)]
struct Enriched {
    updates: Vec<EnrichmentUpdate>,
    /// The leads of `updates` as they were read, in the same order (each
    /// update's transition says where it moves).
    leads: Vec<Lead>,
    /// Leads that failed, and why.
    failures: Vec<StepFailure>,
}

/// Why the step stops early: (subject, reason) for the report.
type Stop = (String, String);

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    StepOutcome::moving(async |moves| report(env, moves).await).await
}

async fn report(env: &CycleEnv<'_>, moves: &mut Moves) -> StepReport {
    let mut report = Step::Enrich.report();
    let names = env.campaign.config.plugins.enrichers.clone();
    if names.is_empty() {
        return report.skipped("no enricher bound; NEW leads are contacted as they are");
    }
    let mut plugins = Vec::new();
    for name in &names {
        match env.plugin(name, PluginKind::Enricher) {
            Ok(plugin) => {
                report.used(plugin.name(), plugin.version());
                plugins.push(plugin);
            }
            Err(reason) => return report.failed(name, reason),
        }
    }
    let plugins: Vec<&LoadedPlugin> = plugins.iter().map(|p| p.as_ref()).collect();
    let mut after_id = 0;
    let mut more = true;
    let mut pending: Option<Enriched> = None;
    while more || pending.is_some() {
        let shared: &CycleEnv<'_> = env;
        let write = async {
            match pending.take() {
                Some(page) => {
                    let result = shared.store.apply_enrichments(&shared.tenant, &page.updates).await;
                    Some((page, result))
                }
                None => None,
            }
        };
        let next = async {
            if more {
                read_and_enrich(shared, &plugins, after_id).await
            } else {
                Ok(None)
            }
        };
        let (written, next) = tokio::join!(write, next);
        if let Some((page, result)) = written {
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(e) => {
                    report.fail("store", format!("cannot store {} enrichments: {e}", page.updates.len()));
                    break;
                }
            };
            let skipped: HashSet<i64> = outcome.skipped.into_iter().collect();
            for (lead, update) in page.leads.iter().zip(&page.updates) {
                let Some(transition) = &update.transition else {
                    continue;
                };
                let to = transition.to;
                if skipped.contains(&lead.id) {
                    report.fail(
                        &lead.fields.email,
                        format!("not enriched: the lead left {} meanwhile", lead.state.as_str()),
                    );
                    continue;
                }
                moves.record(lead, to, &transition.reason, transition.plugin_version.clone());
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
        match next {
            Ok(Some((page, last_id))) => {
                report.add("batches", 1);
                after_id = last_id;
                for failure in &page.failures {
                    report.fail(&failure.subject, &failure.reason);
                }
                pending = Some(page);
            }
            Ok(None) => more = false,
            Err((subject, reason)) => {
                report.fail(subject, reason);
                more = false;
            }
        }
    }
    report
}

/// Reads the next page of NEW leads and runs it through every enricher;
/// `None` when none are left. Also returns the page's last id.
async fn read_and_enrich(
    env: &CycleEnv<'_>,
    plugins: &[&LoadedPlugin],
    after_id: i64,
) -> Result<Option<(Enriched, i64)>, Stop> {
    let batch = env
        .store
        .leads_in_state_after(&env.tenant, env.campaign.id, LeadState::New, after_id, BATCH, None)
        .await
        .map_err(|e| ("store".to_string(), format!("cannot read NEW leads: {e}")))?;
    let Some(last_id) = batch.last().map(|l| l.id) else {
        return Ok(None);
    };
    let wire_leads: Vec<_> = batch.iter().map(wire::lead).collect();
    let mut results: Vec<Vec<Result<Enrichment, String>>> = Vec::with_capacity(plugins.len());
    for plugin in plugins {
        let out = plugin
            .enrich(env.scope(), &wire_leads)
            .await
            .map_err(|e| (plugin.name().to_string(), e.to_string()))?;
        if let Some(shadow) = &env.shadow {
            shadow.enrich(plugin, env.scope(), &wire_leads, &out).await;
        }
        results.push(out);
    }
    let all_versions = plugins
        .iter()
        .map(|p| format!("{}@{}", p.name(), p.version()))
        .collect::<Vec<_>>()
        .join(",");
    let mut page = Enriched::default();
    for (i, lead) in batch.into_iter().enumerate() {
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
            page.failures.push(StepFailure {
                subject: lead.fields.email.clone(),
                reason,
            });
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
            page.failures.push(StepFailure {
                subject: lead.fields.email.clone(),
                reason: e.to_string(),
            });
            continue;
        }
        page.updates.push(EnrichmentUpdate {
            lead_id: lead.id,
            enrichment: merged,
            transition: Some(LeadTransition {
                lead_id: lead.id,
                from: lead.state,
                to,
                reason,
                plugin_version: by,
                actor: None,
                at: env.now,
            }),
        });
        page.leads.push(lead);
    }
    Ok(Some((page, last_id)))
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
