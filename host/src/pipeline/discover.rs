//! Step 1, discover: page through each bound lead source from its persisted
//! cursor, normalize and dedupe emails, drop suppressed ones, insert NEW.

use super::context::CycleContext;
use super::report::StepReport;
use crate::domain::email::{Deduper, normalize};
use crate::domain::model::NewLead;
use crate::plugins::PluginKind;

/// Leads asked for per page.
const PAGE_SIZE: u32 = 500;
/// Pages read per source per cycle: bounds one cycle's work when a source is
/// large; the cursor is saved, so the next cycle continues where this stopped.
const MAX_PAGES_PER_CYCLE: u32 = 200;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("discover");
    if !ctx.running() {
        return report.skipped(ctx.not_running_note());
    }
    let sources = ctx.campaign.config.plugins.lead_sources.clone();
    if sources.is_empty() {
        return report.skipped("no lead source bound; leads come from `cam import`");
    }
    let mut deduper = Deduper::new();
    for name in sources {
        let plugin = match ctx.plugin(&name, PluginKind::LeadSource) {
            Ok(plugin) => plugin,
            Err(reason) => {
                report.fail(&name, reason);
                continue;
            }
        };
        report.used(plugin.name(), plugin.version());
        let mut cursor = match ctx.store.source_cursor(&ctx.tenant, ctx.campaign.id, &name).await {
            Ok(cursor) => cursor,
            Err(e) => {
                report.fail(&name, format!("cannot read the source's cursor: {e}"));
                continue;
            }
        };
        for _ in 0..MAX_PAGES_PER_CYCLE {
            let page = match plugin.next_page(ctx.scope(), cursor.as_deref(), PAGE_SIZE).await {
                Ok(page) => page,
                Err(e) => {
                    report.fail(&name, e.to_string());
                    break;
                }
            };
            report.add("pages", 1);
            report.add("received", page.leads.len() as u64);
            let mut batch = Vec::with_capacity(page.leads.len());
            for lead in page.leads {
                let email = match normalize(&lead.email) {
                    Ok(email) => email,
                    Err(e) => {
                        report.add("invalid", 1);
                        report.fail(&lead.email, format!("invalid email from {name}: {e}"));
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
            match ctx.store.insert_leads(&ctx.tenant, ctx.campaign.id, &batch).await {
                Ok(outcome) => {
                    report.add("inserted", outcome.inserted);
                    report.add("duplicates", outcome.duplicates.len() as u64);
                    report.add("suppressed", outcome.suppressed.len() as u64);
                }
                Err(e) => {
                    report.fail(&name, format!("storing {} leads failed: {e}", batch.len()));
                    break;
                }
            }
            // The cursor moves only after the page is stored: a crash
            // re-reads the page and the store's dedupe absorbs it.
            match page.next_cursor {
                Some(next) => {
                    if let Err(e) = ctx
                        .store
                        .set_source_cursor(&ctx.tenant, ctx.campaign.id, &name, &next)
                        .await
                    {
                        report.fail(&name, format!("cannot save the source's cursor: {e}"));
                        break;
                    }
                    cursor = Some(next);
                }
                None => break,
            }
        }
    }
    report
}
