//! Step 6, inbox: read new messages, store each raw and parsed, match it to
//! a lead — by In-Reply-To / References to an outbound Message-ID, by the
//! original Message-ID or recipient a bounce report quotes, by the sender's
//! address, then by the VERP address it was delivered to — and only then
//! acknowledge it at the source. Unmatched messages stay stored and visible.
//!
//! A message whose subject carries a valid unsubscribe token (the `mailto:`
//! target of `List-Unsubscribe`) suppresses that address right here.

use super::env::CycleEnv;
use super::report::StepReport;
use super::step::{Step, StepOutcome};
use crate::domain::model::{NewInboundMessage, SuppressionKind, SuppressionReason};
use crate::mail::message::{ParsedInbound, message_id_from_verp, parse};
use crate::mail::recognise::{Recognised, recognise};

/// Messages read per cycle.
const MAX_PER_CYCLE: usize = 1_000;

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    report(env).await.into()
}

async fn report(env: &CycleEnv<'_>) -> StepReport {
    let mut report = Step::Inbox.report();
    let inbox = env.transports.inbox.clone();
    report.note(inbox.mailbox());
    let fetched = match inbox.fetch_new(MAX_PER_CYCLE).await {
        Ok(f) => f,
        Err(e) => return report.failed("inbox", format!("{e:#}")),
    };
    for message in fetched {
        // A message without a Message-ID is deduped on its bytes by the store.
        let parsed = parse(&message.raw).unwrap_or_default();
        let new = NewInboundMessage {
            mailbox: message.mailbox.clone(),
            message_id: parsed.message_id.clone(),
            in_reply_to: parsed.in_reply_to.clone(),
            references: parsed.references.clone(),
            from_address: parsed.from.clone(),
            subject: parsed.subject.clone(),
            body_text: parsed.body_text.clone(),
            raw: message.raw.clone(),
            received_at: env.now,
        };
        let id = match env.store.insert_inbound(&env.tenant, &new).await {
            Ok(insertion) => {
                report.add(if insertion.is_new() { "stored" } else { "already_stored" }, 1);
                insertion.id()
            }
            Err(e) => {
                report.fail(&message.handle, format!("cannot store the message: {e}"));
                continue;
            }
        };
        match match_lead(env, &parsed, &message.raw).await {
            Some((lead_id, how)) => match env.store.set_inbound_match(&env.tenant, id, lead_id).await {
                Ok(()) => report.add(how, 1),
                Err(e) => report.fail(&message.handle, format!("cannot record the match: {e}")),
            },
            None => report.add("unmatched", 1),
        }
        if let Some(request) = env.transports.unsubscribe.token_in_subject(&parsed.subject)
            && request.tenant == env.tenant
        {
            match env
                .store
                .add_suppression(
                    &env.tenant,
                    SuppressionKind::Address,
                    &request.address,
                    SuppressionReason::Unsubscribe,
                    "unsubscribe email (List-Unsubscribe mailto)",
                )
                .await
            {
                Ok(()) => report.add("unsubscribed_by_mail", 1),
                Err(e) => report.fail(&message.handle, format!("cannot suppress {}: {e}", request.address)),
            }
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
async fn match_lead(env: &CycleEnv<'_>, parsed: &ParsedInbound, raw: &[u8]) -> Option<(i64, &'static str)> {
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
        if let Ok(Some(email)) = env.store.email_by_message_id(&env.tenant, id).await {
            return Some((email.email.lead_id, "matched_by_thread"));
        }
    }
    let mut addresses = Vec::new();
    if let Some((Some(recipient), _)) = &bounce {
        addresses.push(recipient.clone());
    }
    addresses.push(parsed.from.clone());
    for address in addresses.iter().filter(|a| !a.is_empty()) {
        if let Ok(Some(lead)) = env.store.lead_by_email(&env.tenant, address).await {
            return Some((lead.id, "matched_by_address"));
        }
    }
    for (name, value) in &parsed.headers {
        let recipient_header = ["to", "delivered-to", "x-original-to", "envelope-to"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if !recipient_header {
            continue;
        }
        for word in value.split(|c: char| c == ',' || c == '<' || c == '>' || c.is_whitespace()) {
            let Some(id) = message_id_from_verp(word) else { continue };
            if let Ok(Some(email)) = env.store.email_by_message_id(&env.tenant, &id).await {
                return Some((email.email.lead_id, "matched_by_verp"));
            }
        }
    }
    None
}
