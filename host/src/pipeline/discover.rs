//! Step 1, discover: page through each bound lead source from its persisted
//! cursor, normalize and dedupe emails, drop suppressed ones, insert NEW.
//!
//! Pages are pipelined: while one page is stored (on a blocking thread),
//! the source fetches the next. The cursor is saved only after its page is
//! stored, so a failure or crash re-reads from the last stored page and the
//! store's dedupe absorbs the overlap.

use super::env::CycleEnv;
use super::report::StepReport;
use super::step::{Step, StepOutcome};
use crate::domain::email::{Deduper, normalize};
use crate::domain::model::NewLead;
use crate::plugins::{LoadedPlugin, PluginKind};
use crate::runtime::bindings::types::{Lead, LeadPage};
use crate::store::{InsertOutcome, StoreError};

/// Leads asked for per page.
const PAGE_SIZE: u32 = 500;
/// Pages read per source per cycle: bounds one cycle's work when a source is
/// large; the cursor is saved, so the next cycle continues where this stopped.
const MAX_PAGES_PER_CYCLE: u32 = 200;

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    report(env).await.into()
}

async fn report(env: &CycleEnv<'_>) -> StepReport {
    let mut report = Step::Discover.report();
    let sources = env.campaign.config.plugins.lead_sources.clone();
    if sources.is_empty() {
        return report.skipped("no lead source bound; leads come from `cam import`");
    }
    let mut deduper = Deduper::new();
    for name in sources {
        let plugin = match env.plugin(&name, PluginKind::LeadSource) {
            Ok(plugin) => plugin,
            Err(reason) => {
                report.fail(&name, reason);
                continue;
            }
        };
        report.used(plugin.name(), plugin.version());
        let cursor = match env.store.source_cursor(&env.tenant, env.campaign.id, &name).await {
            Ok(cursor) => cursor,
            Err(e) => {
                report.fail(&name, format!("cannot read the source's cursor: {e}"));
                continue;
            }
        };
        let mut fetched = plugin.next_page(env.scope(), cursor.as_deref(), PAGE_SIZE).await;
        for page_number in 1..=MAX_PAGES_PER_CYCLE {
            let page = match fetched {
                Ok(page) => page,
                Err(e) => {
                    report.fail(&name, e.to_string());
                    break;
                }
            };
            let LeadPage { leads, next_cursor } = page;
            report.add("pages", 1);
            report.add("received", leads.len() as u64);
            let batch = admit(leads, &plugin, &mut deduper, &mut report);
            let shared: &CycleEnv<'_> = env;
            let fetch_next = next_cursor.is_some() && page_number < MAX_PAGES_PER_CYCLE;
            let (stored, next) = tokio::join!(store(shared, &name, &batch, next_cursor.as_deref()), async {
                if fetch_next {
                    Some(
                        plugin
                            .next_page(shared.scope(), next_cursor.as_deref(), PAGE_SIZE)
                            .await,
                    )
                } else {
                    None
                }
            });
            let (outcome, saved) = match stored {
                Ok(stored) => stored,
                Err(e) => {
                    report.fail(&name, format!("storing {} leads failed: {e}", batch.len()));
                    break;
                }
            };
            report.add("inserted", outcome.inserted);
            report.add("duplicates", outcome.duplicates.len() as u64);
            report.add("suppressed", outcome.suppressed.len() as u64);
            if let Err(e) = saved {
                // The page is stored; the next cycle re-reads it and the
                // store's dedupe absorbs the repeat.
                report.fail(&name, format!("cannot save the source's cursor: {e}"));
                break;
            }
            match next {
                Some(next) => fetched = next,
                None => break,
            }
        }
    }
    report
}

/// Normalizes and dedupes one page's leads, counting the rest in `report`.
fn admit(leads: Vec<Lead>, plugin: &LoadedPlugin, deduper: &mut Deduper, report: &mut StepReport) -> Vec<NewLead> {
    let mut batch = Vec::with_capacity(leads.len());
    for lead in leads {
        let email = match normalize(&lead.email) {
            Ok(email) => email,
            Err(e) => {
                report.add("invalid", 1);
                report.fail(&lead.email, format!("invalid email from {}: {e}", plugin.name()));
                continue;
            }
        };
        if !deduper.insert(&email) {
            report.add("duplicates", 1);
            continue;
        }
        batch.push(NewLead {
            email: email.into_string(),
            first_name: lead.first_name,
            last_name: lead.last_name,
            company: lead.company,
            domain: lead.domain,
            title: lead.title,
            country: lead.country,
            time_zone: lead.timezone,
            employees: lead.employees,
            attributes: lead.attributes.into_iter().map(|a| (a.key, a.value)).collect(),
            source_plugin: plugin.name().to_string(),
            source_version: plugin.version().to_string(),
        });
    }
    batch
}

/// Stores one page's leads, then moves the source's cursor past them (only
/// then: a page is never skipped). The cursor's save result comes second.
async fn store(
    env: &CycleEnv<'_>,
    source: &str,
    batch: &[NewLead],
    next_cursor: Option<&str>,
) -> Result<(InsertOutcome, Result<(), StoreError>), StoreError> {
    let outcome = env.store.insert_leads(&env.tenant, env.campaign.id, batch).await?;
    let saved = match next_cursor {
        Some(next) => {
            env.store
                .set_source_cursor(&env.tenant, env.campaign.id, source, next)
                .await
        }
        None => Ok(()),
    };
    Ok((outcome, saved))
}
