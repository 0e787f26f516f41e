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

use super::env::CycleEnv;
use super::error::StepError;
use super::report::StepReport;
use super::step::{Moves, Step, StepOutcome};
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
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    StepOutcome::moving(async |moves| report(env, moves).await).await
}

async fn report(env: &CycleEnv<'_>, moves: &mut Moves) -> StepReport {
    let mut report = Step::Send.report();
    report.note(env.transports.sender.describe());
    match env
        .store
        .mark_stale_sending_uncertain(&env.tenant, env.now - STALE_SENDING)
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
    if !env.running() {
        return report.skipped(env.not_running_note());
    }
    let queued = match env
        .store
        .emails_in_state(&env.tenant, Some(env.campaign.id), EmailState::Queued, MAX_PER_CYCLE)
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
        match send_one(env, moves, &email, &mut report).await {
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

impl From<StepError> for Failed {
    fn from(error: StepError) -> Self {
        Failed::Other(error.into())
    }
}

async fn send_one(
    env: &CycleEnv<'_>,
    moves: &mut Moves,
    email: &OutboundEmail,
    report: &mut StepReport,
) -> Result<(), Failed> {
    let tenant = env.tenant.clone();
    let lead = env
        .store
        .get_lead(&tenant, email.email.lead_id)
        .await
        .map_err(StepError::store("read the lead"))?;
    let still_wanted = match lead.state {
        LeadState::New | LeadState::Enriched => email.email.step == 0,
        LeadState::Contacted => true,
        _ => false,
    };
    let suppressed = env
        .store
        .is_suppressed(&tenant, &lead.fields.email)
        .await
        .map_err(StepError::store("check the suppression list"))?;
    if !still_wanted || suppressed {
        let why = if suppressed {
            "the address is suppressed".to_string()
        } else {
            format!("the lead is {} now; its sequence stopped", lead.state.as_str())
        };
        env.store
            .mark_email_failed(&tenant, email.id, &why)
            .await
            .map_err(StepError::store("cancel the email"))?;
        report.add("cancelled", 1);
        return Ok(());
    }
    let raw = render(env, email, &lead).await;
    env.store
        .mark_email_sending(&tenant, email.id, env.now)
        .await
        .map_err(StepError::store("mark the email SENDING"))?;
    let message = OutgoingMessage {
        message_id: email.email.message_id.clone(),
        from: email.email.mailbox.clone(),
        to: email.email.to_address.clone(),
        raw,
    };
    match env.transports.sender.send(&message).await {
        Ok(()) => {}
        Err(SendError::Deferred(reason)) => {
            env.store
                .requeue_email(&tenant, email.id, &reason)
                .await
                .map_err(|e| format!("not sent ({reason}), and cannot put it back in the queue: {e}"))?;
            report.add("deferred", 1);
            return Err(Failed::Deferred(format!("not sent yet, stays queued: {reason}")));
        }
        Err(SendError::NotSent(reason)) => {
            env.store
                .mark_email_failed(&tenant, email.id, &reason)
                .await
                .map_err(StepError::store("mark the email FAILED"))?;
            return Err(reason.into());
        }
        Err(SendError::Uncertain(reason)) => {
            env.store
                .mark_email_uncertain(&tenant, email.id, &reason)
                .await
                .map_err(StepError::store("mark the email UNCERTAIN"))?;
            report.add("uncertain", 1);
            return Err(reason.into());
        }
    }
    env.store
        .mark_email_sent(&tenant, email.id, env.now)
        .await
        .map_err(StepError::store("mark the sent email SENT"))?;
    report.add("sent", 1);
    report.add(&format!("sent_step_{}", email.email.step + 1), 1);
    if lead.state != LeadState::Contacted {
        env.move_lead(moves, &lead, LeadState::Contacted, "first email sent", None)
            .await?;
    }
    let next_step = email.email.step + 1;
    let next_at = match env.plan.delay(next_step) {
        Some(delay) => env.now + delay,
        None => env.now + LAST_STEP_REPLY_WAIT,
    };
    env.store
        .set_lead_schedule(&tenant, lead.id, next_step, Some(next_at))
        .await
        .map_err(|source| StepError::store("schedule the next step of a sent sequence")(source).into())
}

/// The full message, threaded under the earlier steps that were really
/// queued for this lead.
async fn render(env: &CycleEnv<'_>, email: &OutboundEmail, lead: &Lead) -> Vec<u8> {
    let mut domains: Vec<String> = super::schedule::sending_mailboxes(env)
        .iter()
        .filter_map(|m| domain_of(&m.address).map(str::to_string))
        .collect();
    domains.dedup();
    let mut earlier = Vec::new();
    for step in 0..email.email.step {
        for domain in &domains {
            let id = message_id(&env.tenant, lead.id, lead.created_at, step, domain);
            if let Ok(Some(_)) = env.store.email_by_message_id(&env.tenant, &id).await {
                earlier.push(id);
                break;
            }
        }
    }
    let unsubscribe = env
        .transports
        .unsubscribe
        .links(&env.tenant, &email.email.to_address, &email.email.mailbox);
    let to_name = format!("{} {}", lead.fields.first_name, lead.fields.last_name);
    let from_name = env
        .transports
        .identity
        .as_ref()
        .filter(|identity| identity.address.eq_ignore_ascii_case(&email.email.mailbox))
        .and_then(|identity| identity.name.as_deref())
        .unwrap_or("");
    build(&Outreach {
        message_id: &email.email.message_id,
        from: &email.email.mailbox,
        from_name,
        to: &email.email.to_address,
        to_name: to_name.trim(),
        subject: &email.email.subject,
        body: &email.email.body,
        date: env.now,
        earlier: &earlier,
        unsubscribe: &unsubscribe,
    })
}
