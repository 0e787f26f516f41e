//! Step 5, send: every queued email goes out through the [`Sender`]
//! (the dry-run outbox by default), with its Message-ID, threading headers
//! on follow-ups and one-click unsubscribe headers.
//!
//! Each email is marked SENDING before the hand-over and SENT after it. A
//! crash in between leaves it SENDING; the next cycle marks such emails
//! UNCERTAIN (they may have left) and never sends them again.
//!
//! [`Sender`]: crate::mail::Sender

use chrono::TimeDelta;

use super::context::CycleContext;
use super::report::StepReport;
use crate::domain::email::domain_of;
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{EmailState, Lead, OutboundEmail};
use crate::mail::message::{Outreach, build, message_id};
use crate::mail::{OutgoingMessage, SendError};

/// An email SENDING for longer than this was interrupted by a crash: no
/// transport takes this long to accept one message.
pub const STALE_SENDING: TimeDelta = TimeDelta::minutes(15);
/// How long a lead has to reply to the last step before it ends the
/// sequence (NURTURE or DEAD).
pub const LAST_STEP_REPLY_WAIT: TimeDelta = TimeDelta::days(7);
/// Emails sent per cycle at most (the caps bound it far lower in practice).
const MAX_PER_CYCLE: u32 = 10_000;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("send");
    report.note(ctx.transports.sender.describe());
    match ctx
        .store
        .mark_stale_sending_uncertain(&ctx.tenant, ctx.now - STALE_SENDING)
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            report.add("marked_uncertain", n);
            report.note(format!(
                "{n} emails were interrupted mid-send earlier; marked UNCERTAIN for review, not re-sent"
            ));
        }
        Err(e) => report.fail("store", format!("cannot recover interrupted sends: {e}")),
    }
    if !ctx.running() {
        return report.skipped(ctx.not_running_note());
    }
    let queued = match ctx
        .store
        .emails_in_state(&ctx.tenant, Some(ctx.campaign.id), EmailState::Queued, MAX_PER_CYCLE)
        .await
    {
        Ok(q) => q,
        Err(e) => return report.failed("store", format!("cannot read queued emails: {e}")),
    };
    // A mailbox whose server deferred one email (down, 4xx after every
    // retry) is left alone for the rest of this cycle: its emails stay
    // queued instead of each waiting through the same retries.
    let mut deferred_mailboxes = std::collections::HashSet::new();
    for email in queued {
        if deferred_mailboxes.contains(&email.email.mailbox) {
            report.add("deferred", 1);
            continue;
        }
        match send_one(ctx, &email, &mut report).await {
            Ok(()) => {}
            Err(Failed::Deferred(reason)) => {
                report.fail(&email.email.to_address, reason);
                deferred_mailboxes.insert(email.email.mailbox.clone());
            }
            Err(Failed::Other(reason)) => report.fail(&email.email.to_address, reason),
        }
    }
    if !deferred_mailboxes.is_empty() {
        let mut names: Vec<_> = deferred_mailboxes.into_iter().collect();
        names.sort();
        report.note(format!(
            "sending paused this cycle for {}: the mail server deferred; their emails stay queued",
            names.join(", ")
        ));
    }
    report
}

/// Why one email did not go out.
enum Failed {
    /// The server is down or asked to retry: the email is back in the queue.
    Deferred(String),
    /// Anything else, already recorded on the email.
    Other(String),
}

impl From<String> for Failed {
    fn from(reason: String) -> Self {
        Failed::Other(reason)
    }
}

async fn send_one(ctx: &mut CycleContext<'_>, email: &OutboundEmail, report: &mut StepReport) -> Result<(), Failed> {
    let tenant = ctx.tenant.clone();
    let lead = ctx
        .store
        .get_lead(&tenant, email.email.lead_id)
        .await
        .map_err(|e| format!("cannot read the lead: {e}"))?;
    let still_wanted = match lead.state {
        LeadState::New | LeadState::Enriched => email.email.step == 0,
        LeadState::Contacted => true,
        _ => false,
    };
    let suppressed = ctx
        .store
        .is_suppressed(&tenant, &lead.fields.email)
        .await
        .map_err(|e| e.to_string())?;
    if !still_wanted || suppressed {
        let why = if suppressed {
            "the address is suppressed".to_string()
        } else {
            format!("the lead is {} now; its sequence stopped", lead.state.as_str())
        };
        ctx.store
            .mark_email_failed(&tenant, email.id, &why)
            .await
            .map_err(|e| e.to_string())?;
        report.add("cancelled", 1);
        return Ok(());
    }
    let raw = render(ctx, email, &lead).await;
    ctx.store
        .mark_email_sending(&tenant, email.id, ctx.now)
        .await
        .map_err(|e| format!("cannot mark SENDING: {e}"))?;
    let message = OutgoingMessage {
        message_id: email.email.message_id.clone(),
        from: email.email.mailbox.clone(),
        to: email.email.to_address.clone(),
        raw,
    };
    match ctx.transports.sender.send(&message).await {
        Ok(()) => {}
        Err(SendError::Deferred(reason)) => {
            ctx.store
                .requeue_email(&tenant, email.id, &reason)
                .await
                .map_err(|e| format!("not sent ({reason}), and cannot put it back in the queue: {e}"))?;
            report.add("deferred", 1);
            return Err(Failed::Deferred(format!("not sent yet, stays queued: {reason}")));
        }
        Err(SendError::NotSent(reason)) => {
            ctx.store
                .mark_email_failed(&tenant, email.id, &reason)
                .await
                .map_err(|e| e.to_string())?;
            return Err(reason.into());
        }
        Err(SendError::Uncertain(reason)) => {
            ctx.store
                .mark_email_uncertain(&tenant, email.id, &reason)
                .await
                .map_err(|e| e.to_string())?;
            report.add("uncertain", 1);
            return Err(reason.into());
        }
    }
    ctx.store
        .mark_email_sent(&tenant, email.id, ctx.now)
        .await
        .map_err(|e| format!("sent, but cannot mark SENT: {e}"))?;
    report.add("sent", 1);
    report.add(&format!("sent_step_{}", email.email.step + 1), 1);
    if lead.state != LeadState::Contacted {
        ctx.move_lead(&lead, LeadState::Contacted, "first email sent", None)
            .await?;
    }
    let next_step = email.email.step + 1;
    let next_at = match ctx.steps.get(next_step as usize) {
        Some(step) => ctx.now + step.delay,
        None => ctx.now + LAST_STEP_REPLY_WAIT,
    };
    ctx.store
        .set_lead_schedule(&tenant, lead.id, next_step, Some(next_at))
        .await
        .map_err(|e| format!("sent, but cannot schedule the next step: {e}").into())
}

/// The full message, threaded under the earlier steps that were really
/// queued for this lead.
async fn render(ctx: &CycleContext<'_>, email: &OutboundEmail, lead: &Lead) -> Vec<u8> {
    let mut domains: Vec<String> = ctx
        .campaign
        .config
        .mailboxes
        .iter()
        .filter_map(|m| domain_of(&m.address).map(str::to_string))
        .collect();
    domains.dedup();
    let mut earlier = Vec::new();
    for step in 0..email.email.step {
        for domain in &domains {
            let id = message_id(&ctx.tenant, lead.id, lead.created_at, step, domain);
            if let Ok(Some(_)) = ctx.store.email_by_message_id(&ctx.tenant, &id).await {
                earlier.push(id);
                break;
            }
        }
    }
    let unsubscribe = ctx
        .transports
        .unsubscribe
        .links(&ctx.tenant, &email.email.to_address, &email.email.mailbox);
    let to_name = format!("{} {}", lead.fields.first_name, lead.fields.last_name);
    build(&Outreach {
        message_id: &email.email.message_id,
        from: &email.email.mailbox,
        to: &email.email.to_address,
        to_name: to_name.trim(),
        subject: &email.email.subject,
        body: &email.email.body,
        date: ctx.now,
        earlier: &earlier,
        unsubscribe: &unsubscribe,
    })
}
