//! Step 6, inbox: read new messages, store each raw and parsed, match it to
//! a lead — by In-Reply-To / References to an outbound Message-ID, by the
//! original Message-ID or recipient a bounce report quotes, then by sender
//! address — and only then acknowledge it at the source. Unmatched messages
//! stay stored and visible.

use super::context::CycleContext;
use super::report::StepReport;
use crate::domain::model::NewInboundMessage;
use crate::mail::message::{ParsedInbound, parse};
use crate::mail::recognise::{Recognised, recognise};

/// Messages read per cycle.
const MAX_PER_CYCLE: usize = 1_000;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("inbox");
    let inbox = ctx.transports.inbox.clone();
    report.note(inbox.mailbox());
    let fetched = match inbox.fetch_new(MAX_PER_CYCLE).await {
        Ok(f) => f,
        Err(e) => return report.failed("inbox", format!("{e:#}")),
    };
    for message in fetched {
        let parsed = parse(&message.raw).unwrap_or_default();
        let new = NewInboundMessage {
            mailbox: inbox.mailbox(),
            message_id: parsed.message_id.clone(),
            in_reply_to: parsed.in_reply_to.clone(),
            references: parsed.references.clone(),
            from_address: parsed.from.clone(),
            subject: parsed.subject.clone(),
            body_text: parsed.body_text.clone(),
            raw: message.raw.clone(),
            received_at: ctx.now,
        };
        let id = match ctx.store.insert_inbound(&ctx.tenant, &new).await {
            Ok(insertion) => {
                report.add(if insertion.is_new() { "stored" } else { "already_stored" }, 1);
                insertion.id()
            }
            Err(e) => {
                report.fail(&message.handle, format!("cannot store the message: {e}"));
                continue;
            }
        };
        match match_lead(ctx, &parsed, &message.raw).await {
            Some((lead_id, how)) => match ctx.store.set_inbound_match(&ctx.tenant, id, lead_id).await {
                Ok(()) => report.add(how, 1),
                Err(e) => report.fail(&message.handle, format!("cannot record the match: {e}")),
            },
            None => report.add("unmatched", 1),
        }
        if let Err(e) = inbox.acknowledge(&message.handle).await {
            report.fail(
                &message.handle,
                format!("stored, but cannot acknowledge it at the source: {e:#}"),
            );
        }
    }
    report
}

/// The lead a message belongs to, and how it was found.
async fn match_lead(ctx: &CycleContext<'_>, parsed: &ParsedInbound, raw: &[u8]) -> Option<(i64, &'static str)> {
    let mut ids: Vec<&String> = parsed.in_reply_to.iter().collect();
    ids.extend(parsed.references.iter().rev());
    let bounce = match recognise(raw) {
        Some(Recognised::Bounce {
            recipient,
            original_message_id,
            ..
        }) => Some((recipient, original_message_id)),
        _ => None,
    };
    if let Some((_, Some(original))) = &bounce {
        ids.push(original);
    }
    for id in ids {
        if let Ok(Some(email)) = ctx.store.email_by_message_id(&ctx.tenant, id).await {
            return Some((email.email.lead_id, "matched_by_thread"));
        }
    }
    let mut addresses = Vec::new();
    if let Some((Some(recipient), _)) = &bounce {
        addresses.push(recipient.clone());
    }
    addresses.push(parsed.from.clone());
    for address in addresses.iter().filter(|a| !a.is_empty()) {
        if let Ok(Some(lead)) = ctx.store.lead_by_email(&ctx.tenant, address).await {
            return Some((lead.id, "matched_by_address"));
        }
    }
    None
}
