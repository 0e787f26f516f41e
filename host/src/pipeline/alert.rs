//! Step 11, alert: each positive reply alerts a human exactly once, keyed by
//! (lead, reply Message-ID) in the store, so a re-run cycle or a second
//! worker never raises it twice.
//!
//! Raising and delivering are separate: the alert row is stored first, then
//! every undelivered alert goes to each configured channel — an email to
//! the operator (through the campaign's sender; in dry-run one more `.eml`
//! in the outbox) and a signed webhook POST. Every try is written to the
//! alert log; a channel that took an alert is never tried again for it, and
//! one that failed is tried again next cycle.

use super::classify::PositiveReply;
use super::env::CycleEnv;
use super::report::StepReport;
use super::step::{Moves, Step, StepOutcome};
use crate::domain::model::{Alert, NewAlert, NewAlertAttempt};
use crate::mail::{OutgoingMessage, SendError};
use crate::store::Insertion;

/// Undelivered alerts handled per cycle.
const MAX_DELIVERIES: u32 = 200;
/// Replies from earlier cycles checked for a missing alert.
const MAX_RECOVERED: u32 = 200;

/// Runs the step on the positive replies of the classify step; the alerts
/// raised, in words.
pub async fn run(env: &CycleEnv<'_>, mut replies: Vec<PositiveReply>) -> StepOutcome<Vec<String>> {
    let mut report = Step::Alert.report();
    let mut raised = Vec::new();
    recover_missed(env, &mut replies, &mut report).await;
    for reply in replies {
        raised.extend(raise(env, &reply, &mut report).await);
    }
    match env.store.undelivered_alerts(&env.tenant, MAX_DELIVERIES).await {
        Ok(pending) => {
            for alert in pending {
                deliver(env, &alert, &mut report).await;
            }
        }
        Err(e) => report = report.failed("store", format!("cannot list undelivered alerts: {e}")),
    }
    StepOutcome {
        report,
        moves: Moves::default(),
        output: raised,
    }
}

/// Positive replies an earlier cycle classified but did not alert about (a
/// crash in between).
async fn recover_missed(env: &CycleEnv<'_>, replies: &mut Vec<PositiveReply>, report: &mut StepReport) {
    let missed = match env.store.unalerted_positive_inbound(&env.tenant, MAX_RECOVERED).await {
        Ok(missed) => missed,
        Err(e) => {
            report.fail("store", format!("cannot look for unalerted replies: {e}"));
            return;
        }
    };
    for message in missed {
        if replies.iter().any(|r| r.inbound_id == message.id) {
            continue;
        }
        let Some(lead_id) = message.matched_lead_id else {
            continue;
        };
        let Ok(lead) = env.store.get_lead(&env.tenant, lead_id).await else {
            continue;
        };
        replies.push(PositiveReply {
            lead_id,
            email: lead.fields.email,
            inbound_id: message.id,
            message_id: message.message.message_id.clone(),
            label: message.label.clone().unwrap_or_else(|| "interested".into()),
            subject: message.message.subject.clone(),
            excerpt: message.message.body_text.chars().take(300).collect(),
        });
    }
}

/// Stores the alert for one reply (once per lead and reply); the alert in
/// words when it is new.
async fn raise(env: &CycleEnv<'_>, reply: &PositiveReply, report: &mut StepReport) -> Option<String> {
    let alert = NewAlert {
        idempotency_key: format!("positive-reply:{}:{}", reply.lead_id, reply.message_id),
        kind: "positive-reply".into(),
        lead_id: Some(reply.lead_id),
        payload: serde_json::json!({
            "campaign": env.campaign.config.name,
            "lead": reply.email,
            "label": reply.label,
            "subject": reply.subject,
            "excerpt": reply.excerpt,
            "message_id": reply.message_id,
            "inbound_id": reply.inbound_id,
        }),
    };
    match env.store.insert_alert(&env.tenant, &alert).await {
        Ok(Insertion::New(_)) => {
            report.add("raised", 1);
            return Some(format!(
                "{} reply from {}: {:?}",
                reply.label, reply.email, reply.subject
            ));
        }
        Ok(Insertion::Existing(_)) => report.add("already_alerted", 1),
        Err(e) => report.fail(&reply.email, format!("cannot record the alert: {e}")),
    }
    None
}

/// Sends one alert to every channel that has not taken it yet.
async fn deliver(env: &CycleEnv<'_>, alert: &Alert, report: &mut StepReport) {
    let tenant = env.tenant.clone();
    let done = match env.store.alert_attempts(&tenant, alert.id).await {
        Ok(log) => log
            .into_iter()
            .filter(|a| a.attempt.ok)
            .map(|a| a.attempt.channel)
            .collect::<Vec<_>>(),
        Err(e) => {
            report.fail(&alert.alert.idempotency_key, format!("cannot read the alert log: {e}"));
            return;
        }
    };
    let mut all_ok = true;
    let mut tries = Vec::new();
    if let Some(operator) = &env.transports.operator_address
        && !done.iter().any(|c| c == "email")
    {
        let attempt = email_operator(env, alert, operator).await;
        all_ok &= attempt.0;
        tries.push(("email", attempt.0, attempt.1));
    }
    if let Some(webhook) = &env.transports.webhook
        && !done.iter().any(|c| c == "webhook")
    {
        let body = serde_json::json!({
            "id": alert.alert.idempotency_key,
            "kind": alert.alert.kind,
            "tenant": tenant,
            "created_at": alert.created_at,
            "alert": alert.alert.payload,
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let attempts = webhook.deliver(&alert.alert.idempotency_key, &body).await;
        all_ok &= attempts.last().is_some_and(|a| a.ok);
        tries.extend(attempts.into_iter().map(|a| ("webhook", a.ok, a.detail)));
    }
    for (channel, ok, detail) in tries {
        let attempt = NewAlertAttempt {
            alert_id: alert.id,
            channel: channel.to_string(),
            ok,
            detail: detail.clone(),
            at: env.now,
        };
        if let Err(e) = env.store.record_alert_attempt(&tenant, &attempt).await {
            report.fail(&alert.alert.idempotency_key, format!("cannot write the alert log: {e}"));
        }
        if !ok {
            report.add(&format!("{channel}_failed_attempts"), 1);
            report.note(format!("alert {} via {channel} failed: {detail}", alert.id));
        }
    }
    if !all_ok {
        report.fail(
            &alert.alert.idempotency_key,
            "not delivered to every channel; tried again next cycle",
        );
        return;
    }
    report.add("delivered", 1);
    if let Err(e) = env.store.mark_alert_delivered(&tenant, alert.id, env.now).await {
        report.fail(
            &alert.alert.idempotency_key,
            format!("delivered, but cannot mark it: {e}"),
        );
    }
    if let Some(inbound) = alert.alert.payload.get("inbound_id").and_then(|v| v.as_i64())
        && let Err(e) = env.store.mark_inbound_alerted(&tenant, inbound).await
    {
        report.fail(
            &alert.alert.idempotency_key,
            format!("delivered, but cannot mark the reply: {e}"),
        );
    }
}

/// The alert email; `(taken, what happened)`.
async fn email_operator(env: &CycleEnv<'_>, alert: &Alert, operator: &str) -> (bool, String) {
    let payload = &alert.alert.payload;
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let from = env
        .campaign
        .config
        .mailboxes
        .first()
        .map(|m| m.address.clone())
        .unwrap_or_else(|| "cam@cam.invalid".to_string());
    let domain = from.rsplit_once('@').map_or("cam.invalid", |(_, d)| d).to_string();
    let message_id = format!("<cam.alert.{}@{domain}>", alert.id);
    let (lead, label, subject, excerpt) = (text("lead"), text("label"), text("subject"), text("excerpt"));
    let body = format!(
        "{lead} replied to campaign {:?} ({label}).\r\n\r\nSubject: {subject}\r\n\r\n{excerpt}\r\n",
        text("campaign")
    );
    let raw = format!(
        "Date: {}\r\nFrom: cam alerts <{from}>\r\nTo: {operator}\r\nSubject: [cam] {label} reply from {lead}\r\n\
         Message-ID: {message_id}\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        env.now.to_rfc2822(),
    );
    let message = OutgoingMessage {
        message_id,
        from,
        to: operator.to_string(),
        raw: raw.into_bytes(),
    };
    match env.transports.sender.send(&message).await {
        Ok(()) => (true, format!("accepted by {}", env.transports.sender.describe())),
        // Possibly delivered: sending again could alert twice.
        Err(SendError::Uncertain(why)) => (true, format!("may have been delivered: {why}")),
        Err(e) => (false, e.to_string()),
    }
}
