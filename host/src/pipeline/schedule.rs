//! Step 4, schedule: pick the leads due for their next sequence step — best
//! score first, above the campaign's threshold, inside the rolling 24 h caps
//! of the campaign and of each mailbox, inside the recipient's send window —
//! render the step's templates and queue one email per (lead, step).
//!
//! Follow-ups of leads already in conversation come before first contacts.
//! A template field a lead lacks fails that lead (it waits, visibly, in the
//! report) rather than sending a message with a hole in it.

use std::collections::{HashMap, HashSet};

use super::env::CycleEnv;
use super::report::StepReport;
use super::score::waiting_state;
use super::step::{Step, StepOutcome};
use crate::domain::caps::{CAP_WINDOW, CapRoom, SendBudget, room_from_count};
use crate::domain::email::domain_of;
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{EmailState, Lead, Mailbox, NewOutboundEmail};
use crate::mail::message::message_id;
use crate::store::Insertion;

/// Candidates read per cycle beyond the budget, so leads outside their
/// window or below the threshold do not starve the ones that can go now.
const CANDIDATE_SLACK: u32 = 1_000;

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    report(env).await.into()
}

async fn report(env: &CycleEnv<'_>) -> StepReport {
    let mut report = Step::Schedule.report();
    let steps = match &env.plan.sequence {
        Ok(steps) => steps,
        Err(e) => return report.failed("sequence", e.to_string()),
    };
    if steps.is_empty() {
        return report.skipped("the campaign has no sequence steps");
    }
    let window = match &env.plan.window {
        Ok(window) => *window,
        Err(e) => return report.failed("send window", e.to_string()),
    };
    let mailboxes = sending_mailboxes(env);
    if mailboxes.is_empty() {
        return report.failed(
            "mailboxes",
            "the campaign has no sending mailbox and its tenant no sender identity; add one to its configuration",
        );
    }
    let budget = match budget(env).await {
        Ok(budget) => budget,
        Err(e) => return report.failed("store", format!("cannot count recent sends: {e}")),
    };
    let mut budget = budget;
    report.add("room", u64::from(budget.remaining()));
    if budget.remaining() == 0 {
        report.note("daily caps reached; nothing more goes out until the rolling 24 h window frees a slot");
        return report;
    }
    let candidates = match candidates(env, budget.remaining() + CANDIDATE_SLACK).await {
        Ok(c) => c,
        Err(e) => return report.failed("store", format!("cannot read due leads: {e}")),
    };
    let emails: Vec<String> = candidates.iter().map(|l| l.fields.email.clone()).collect();
    let suppressed: HashSet<String> = match env.store.suppressed_subset(&env.tenant, &emails).await {
        Ok(s) => s.into_iter().collect(),
        Err(e) => return report.failed("store", format!("cannot check suppressions: {e}")),
    };
    let scored = env.campaign.config.plugins.scorer.is_some();
    let threshold = env.campaign.config.score_threshold;
    for lead in candidates {
        if suppressed.contains(&lead.fields.email) {
            report.add("suppressed", 1);
            continue;
        }
        let step = lead.current_step as usize;
        if lead.state != LeadState::Contacted && scored && lead.score.is_none_or(|s| s < threshold) {
            report.add("below_threshold", 1);
            continue;
        }
        let zone = (!lead.fields.time_zone.trim().is_empty()).then_some(lead.fields.time_zone.as_str());
        if !window.is_open(env.now, zone) {
            report.add("outside_window", 1);
            continue;
        }
        let Some(parsed) = steps.get(step) else { continue };
        let rendered = parsed
            .subject
            .render(&lead)
            .and_then(|s| parsed.body.render(&lead).map(|b| (s, b)));
        let (subject, body) = match rendered {
            Ok(pair) => pair,
            Err(e) => {
                report.fail(&lead.fields.email, e.to_string());
                continue;
            }
        };
        let Some(mailbox) = budget.take() else {
            report.add("over_cap", 1);
            report.note("daily cap reached during this cycle; the rest wait");
            break;
        };
        let from = mailboxes[mailbox].address.clone();
        let domain = domain_of(&from).unwrap_or("cam.invalid").to_string();
        let email = NewOutboundEmail {
            campaign_id: env.campaign.id,
            lead_id: lead.id,
            step: lead.current_step,
            mailbox: from,
            to_address: lead.fields.email.clone(),
            subject,
            body,
            message_id: message_id(&env.tenant, lead.id, lead.created_at, lead.current_step, &domain),
        };
        match env.store.queue_email(&env.tenant, &email).await {
            Ok(Insertion::New(_)) => report.add(if step == 0 { "queued_first" } else { "queued_follow_up" }, 1),
            Ok(Insertion::Existing(_)) => report.add("already_queued", 1),
            Err(e) => report.fail(&lead.fields.email, format!("cannot queue: {e}")),
        }
    }
    let queued = report.count("queued_first") + report.count("queued_follow_up");
    report.add("queued", queued);
    report
}

/// The mailboxes the campaign sends from: its own, or — when it lists none —
/// its tenant's sender identity, capped by the campaign's daily cap.
pub(super) fn sending_mailboxes(env: &CycleEnv<'_>) -> Vec<Mailbox> {
    if !env.campaign.config.mailboxes.is_empty() {
        return env.campaign.config.mailboxes.clone();
    }
    env.transports
        .identity
        .iter()
        .map(|identity| Mailbox {
            address: identity.address.clone(),
            daily_cap: env.campaign.config.daily_cap,
        })
        .collect()
}

/// The room left under the campaign's and each mailbox's rolling caps,
/// counting emails already queued as taken.
async fn budget(env: &CycleEnv<'_>) -> crate::store::StoreResult<SendBudget> {
    let since = env.now - CAP_WINDOW;
    let queued = env
        .store
        .emails_in_state(&env.tenant, Some(env.campaign.id), EmailState::Queued, u32::MAX)
        .await?;
    let mut queued_by_mailbox: HashMap<&str, u32> = HashMap::new();
    for email in &queued {
        *queued_by_mailbox.entry(email.email.mailbox.as_str()).or_default() += 1;
    }
    let sent = env.store.count_sent_since(&env.tenant, env.campaign.id, since).await?;
    let campaign = room_from_count(clamp(sent) + queued.len() as u32, None, env.campaign.config.daily_cap);
    let mut rooms: Vec<CapRoom> = Vec::new();
    for mailbox in &sending_mailboxes(env) {
        let sent = env
            .store
            .count_sent_by_mailbox_since(&env.tenant, &mailbox.address, since)
            .await?;
        let pending = queued_by_mailbox.get(mailbox.address.as_str()).copied().unwrap_or(0);
        rooms.push(room_from_count(clamp(sent) + pending, None, mailbox.daily_cap));
    }
    Ok(SendBudget::new(campaign, &rooms))
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Follow-ups due now (best score first), then leads waiting for first
/// contact (best score first) that are not deferred.
async fn candidates(env: &CycleEnv<'_>, limit: u32) -> crate::store::StoreResult<Vec<Lead>> {
    let steps = env.plan.step_count();
    let mut follow_ups: Vec<Lead> = env
        .store
        .leads_due(&env.tenant, env.campaign.id, env.now, limit)
        .await?
        .into_iter()
        .filter(|l| l.state == LeadState::Contacted && l.current_step > 0 && l.current_step < steps)
        .collect();
    follow_ups.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
    let first: Vec<Lead> = env
        .store
        .leads_in_state(&env.tenant, env.campaign.id, waiting_state(env), limit)
        .await?
        .into_iter()
        .filter(|l| l.current_step == 0 && l.next_action_at.is_none_or(|at| at <= env.now))
        .collect();
    follow_ups.extend(first);
    Ok(follow_ups)
}
