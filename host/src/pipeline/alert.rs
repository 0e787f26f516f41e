//! Step 11, alert: each positive reply alerts a human exactly once, keyed by
//! (lead, reply Message-ID) in the store, so a re-run cycle or a second
//! worker never alerts twice. The alert is an email to the operator through
//! the same sender as outreach (in dry-run: one more `.eml` in the outbox).

use super::context::CycleContext;
use super::report::StepReport;
use crate::domain::email::domain_of;
use crate::domain::model::NewAlert;
use crate::mail::OutgoingMessage;
use crate::store::Insertion;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("alert");
    let replies = std::mem::take(&mut ctx.positive_replies);
    for reply in replies {
        let alert = NewAlert {
            idempotency_key: format!("positive-reply:{}:{}", reply.lead_id, reply.message_id),
            kind: "positive-reply".into(),
            lead_id: Some(reply.lead_id),
            payload: serde_json::json!({
                "campaign": ctx.campaign.config.name,
                "lead": reply.email,
                "label": reply.label,
                "subject": reply.subject,
                "excerpt": reply.excerpt,
                "message_id": reply.message_id,
            }),
        };
        let id = match ctx.store.insert_alert(&ctx.tenant, &alert).await {
            Ok(Insertion::New(id)) => id,
            Ok(Insertion::Existing(_)) => {
                report.add("already_alerted", 1);
                continue;
            }
            Err(e) => {
                report.fail(&reply.email, format!("cannot record the alert: {e}"));
                continue;
            }
        };
        let from_domain = ctx
            .campaign
            .config
            .mailboxes
            .first()
            .and_then(|m| domain_of(&m.address))
            .unwrap_or("cam.invalid")
            .to_string();
        let message_id = format!("<cam.alert.{id}.{}@{from_domain}>", reply.lead_id);
        let body = format!(
            "{} replied to campaign {:?} ({}).\r\n\r\nSubject: {}\r\n\r\n{}\r\n",
            reply.email, ctx.campaign.config.name, reply.label, reply.subject, reply.excerpt
        );
        let raw = format!(
            "Date: {}\r\nFrom: cam <cam@{from_domain}>\r\nTo: {}\r\nSubject: [cam] {} reply from {}\r\nMessage-ID: {message_id}\r\n\
             Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}",
            ctx.now.to_rfc2822(),
            ctx.transports.operator_address,
            reply.label,
            reply.email,
        );
        let message = OutgoingMessage {
            message_id,
            from: format!("cam@{from_domain}"),
            to: ctx.transports.operator_address.clone(),
            raw: raw.into_bytes(),
        };
        report.add("raised", 1);
        ctx.alerts.push(format!(
            "{} reply from {}: {:?}",
            reply.label, reply.email, reply.subject
        ));
        match ctx.transports.sender.send(&message).await {
            Ok(()) => {
                report.add("delivered", 1);
                if let Err(e) = ctx.store.mark_alert_delivered(&ctx.tenant, id, ctx.now).await {
                    report.fail(&reply.email, format!("alert sent, but cannot mark it delivered: {e}"));
                }
                if let Err(e) = ctx.store.mark_inbound_alerted(&ctx.tenant, reply.inbound_id).await {
                    report.fail(
                        &reply.email,
                        format!("alert sent, but cannot mark the reply alerted: {e}"),
                    );
                }
            }
            Err(e) => report.fail(&reply.email, format!("alert recorded but not delivered: {e}")),
        }
    }
    report
}
