//! Step 7, classify: label each new reply to this campaign's leads and apply
//! the label.
//!
//! The host recognises bounces and auto-replies itself (`mail::recognise`);
//! everything else goes to the campaign's reply classifier. An auto-reply is
//! still shown to the classifier, because an out-of-office carries the
//! return date only the classifier reads. Labels drive the lead:
//!
//! | label | effect |
//! |---|---|
//! | interested | sequence stops, CONTACTED → INTERESTED, alert |
//! | question | sequence stops (a human answers), alert |
//! | not-interested | sequence stops, → LOST |
//! | unsubscribe | address suppressed, → LOST |
//! | out-of-office | next step deferred to the return date (a week when none is given) |
//! | bounce (hard) | address suppressed, → DEAD |
//! | bounce (soft) | counted; the next step still goes; after `SOFT_BOUNCE_LIMIT` soft bounces: suppressed, → DEAD |
//! | bounce (block, 5.7.x) | stored as `bounce-block`, counted as a bounce and in the report's `blocked`; the address is not suppressed |
//! | complaint (feedback loop) | stored as `complaint`: the complaining address suppressed, counted, → LOST |
//! | referral | the referred address becomes a NEW lead; the sequence to this one stops |
//! | auto-reply, unknown | nothing |
//!
//! Messages matched to no lead get only the host's recognition and stay
//! visible as unmatched; a spam complaint among them still suppresses the
//! address it names.

use chrono::{NaiveDate, TimeDelta};

use super::env::CycleEnv;
use super::error::StepError;
use super::metrics::{self, ReplyCounters};
use super::report::StepReport;
use super::step::{Moves, Step, StepOutcome};
use super::wire;
use crate::domain::email::normalize;
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{InboundMessage, Lead, NewLead, SuppressionKind, SuppressionReason};
use crate::mail::recognise::{BounceClass, Recognised, recognise};
use crate::plugins::PluginKind;
use crate::runtime::bindings::types::{Attribute, BounceKind, InboundReply, ReplyLabel};

/// Messages looked at per cycle.
const MAX_PER_CYCLE: u32 = 1_000;
/// An out-of-office without a return date defers the next step this long.
pub const DEFAULT_OUT_OF_OFFICE: TimeDelta = TimeDelta::days(7);
/// Headers shown to the classifier.
const CLASSIFIER_HEADERS: &[&str] = &[
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "content-language",
    "in-reply-to",
    "list-id",
];
/// The version recorded for labels the host decided.
const HOST: &str = "host";
/// The reason prefix of a spam complaint (labelled `unsubscribe`).
const COMPLAINT: &str = "spam complaint";
/// Soft bounces of one address before it is suppressed.
pub const SOFT_BOUNCE_LIMIT: u64 = 3;

/// The reason prefix of a 5.7.x block (labelled a soft bounce).
const BLOCKED: &str = "blocked by policy";

/// The verdict on one message.
struct Verdict {
    label: ReplyLabel,
    confidence: f64,
    reason: String,
    version: String,
    detail: String,
}

/// A positive reply waiting for its alert.
#[derive(Debug, Clone)]
pub struct PositiveReply {
    /// The lead.
    pub lead_id: i64,
    /// The lead's email.
    pub email: String,
    /// The stored inbound message.
    pub inbound_id: i64,
    /// Its Message-ID.
    pub message_id: String,
    /// The label (`interested`, `question`).
    pub label: String,
    /// Subject of the reply.
    pub subject: String,
    /// The start of the reply's text.
    pub excerpt: String,
}

/// What applying labels gathers over the step.
struct Applied {
    /// The campaign's reply counters, saved at the end of the step.
    counters: ReplyCounters,
    /// Lead moves made.
    moves: Moves,
    /// Positive replies, for the alert step.
    positive: Vec<PositiveReply>,
}

/// Runs the step: the positive replies found, for the alert step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome<Vec<PositiveReply>> {
    let mut report = Step::Classify.report();
    let messages = match env.store.unlabeled_inbound(&env.tenant, MAX_PER_CYCLE).await {
        Ok(m) => m,
        Err(e) => return report.failed("store", format!("cannot read new replies: {e}")).into(),
    };
    let mut applied = match metrics::load(env.store.as_ref(), &env.tenant, env.campaign.id).await {
        Ok(counters) => Applied {
            counters,
            moves: Moves::default(),
            positive: Vec::new(),
        },
        Err(e) => {
            return report
                .failed("store", format!("cannot read reply counters: {e}"))
                .into();
        }
    };
    for message in messages {
        let lead = match message.matched_lead_id {
            Some(id) => match env.store.get_lead(&env.tenant, id).await {
                Ok(lead) if lead.campaign_id == env.campaign.id => Some(lead),
                Ok(_) => continue, // another campaign's cycle labels it
                Err(source) => {
                    let error = StepError::Store {
                        doing: "read the matched lead",
                        source,
                    };
                    report.fail(&message.message.message_id, error);
                    continue;
                }
            },
            None => None,
        };
        let verdict = match verdict(env, &message, lead.as_ref(), &mut report).await {
            Ok(v) => v,
            Err(reason) => {
                report.fail(&message.message.message_id, reason);
                continue;
            }
        };
        let label = stored_label(&verdict);
        if let Err(e) = env
            .store
            .set_inbound_label(&env.tenant, message.id, &label, verdict.confidence, &verdict.version)
            .await
        {
            report.fail(&message.message.message_id, format!("cannot store the label: {e}"));
            continue;
        }
        report.add(&label, 1);
        match lead {
            Some(lead) => {
                if let Err(reason) = apply(env, &message, &lead, &verdict, &mut applied, &mut report).await {
                    report.fail(&lead.fields.email, reason);
                }
            }
            None => {
                report.add("unmatched", 1);
                // A feedback loop names the complaining address: suppress it
                // even when the report matched no lead (the inbox step does
                // not match complaints to their original message yet).
                if is_complaint(&verdict) && !verdict.detail.is_empty() {
                    match suppress(env, &verdict.detail, SuppressionReason::Complaint, &verdict.reason).await {
                        Ok(()) => report.add("suppressed", 1),
                        Err(reason) => report.fail(&verdict.detail, reason),
                    }
                }
            }
        }
    }
    if let Err(e) = metrics::save(env.store.as_ref(), &env.tenant, env.campaign.id, &applied.counters).await {
        report.fail("store", format!("cannot save reply counters: {e}"));
    }
    StepOutcome {
        report,
        moves: applied.moves,
        output: applied.positive,
    }
}

async fn verdict(
    env: &CycleEnv<'_>,
    message: &InboundMessage,
    lead: Option<&Lead>,
    report: &mut StepReport,
) -> Result<Verdict, StepError> {
    let host = |label, reason: String, detail: String| Verdict {
        label,
        confidence: 1.0,
        reason,
        version: HOST.into(),
        detail,
    };
    let auto = match recognise(&message.message.raw) {
        Some(Recognised::Bounce {
            class,
            status,
            recipient,
            ..
        }) => {
            // A 5.7.x block is stored and counted like a soft bounce (it
            // must not suppress the address), with its own reason.
            let kind = if class == BounceClass::Hard {
                BounceKind::Hard
            } else {
                BounceKind::Soft
            };
            let detail = recipient.unwrap_or_default();
            let reason = match class {
                BounceClass::Block => format!("{BLOCKED}: delivery status {status}"),
                _ => format!("delivery status {status}"),
            };
            return Ok(host(ReplyLabel::Bounce(kind), reason, detail));
        }
        Some(Recognised::Complaint {
            recipient,
            feedback_type,
            ..
        }) => {
            // A complaint is a request to stop, as strong as an unsubscribe.
            let detail = recipient.unwrap_or_default();
            return Ok(host(
                ReplyLabel::Unsubscribe,
                format!("{COMPLAINT}: {feedback_type}"),
                detail,
            ));
        }
        Some(Recognised::AutoReply { reason }) => Some(reason),
        None => None,
    };
    let fallback = |reason: String| match &auto {
        Some(why) => host(ReplyLabel::AutoReply, why.clone(), String::new()),
        None => Verdict {
            label: ReplyLabel::Unknown,
            confidence: 0.0,
            reason,
            version: HOST.into(),
            detail: String::new(),
        },
    };
    let Some(lead) = lead else {
        return Ok(fallback("not matched to any lead".into()));
    };
    let Some(name) = env.campaign.config.plugins.reply_classifier.clone() else {
        return Ok(fallback("no reply classifier bound".into()));
    };
    let plugin = env.plugin(&name, PluginKind::ReplyClassifier)?;
    report.used(plugin.name(), plugin.version());
    let headers = header_attributes(&message.message.raw);
    let reply = InboundReply {
        from: message.message.from_address.clone(),
        subject: message.message.subject.clone(),
        body: message.message.body_text.clone(),
        headers,
        lead: Some(wire::lead(lead)),
        received_at: message.message.received_at.timestamp(),
    };
    let classification = plugin.classify(env.scope(), &reply).await?;
    if let Some(shadow) = &env.shadow {
        let input = message.message.message_id.clone();
        shadow
            .classify(&plugin, env.scope(), &input, &reply, &classification)
            .await;
    }
    if auto.is_some() && !matches!(classification.label, ReplyLabel::OutOfOffice(_)) {
        return Ok(fallback(String::new()));
    }
    Ok(Verdict {
        label: classification.label,
        confidence: f64::from(classification.confidence),
        reason: classification.reason,
        version: format!("{}@{}", plugin.name(), plugin.version()),
        detail: String::new(),
    })
}

fn header_attributes(raw: &[u8]) -> Vec<Attribute> {
    classifier_headers(crate::mail::message::parse(raw).map(|p| p.headers).unwrap_or_default())
}

/// The headers a reply classifier is shown, out of all of a message's.
pub fn classifier_headers(headers: Vec<(String, String)>) -> Vec<Attribute> {
    headers
        .into_iter()
        .filter(|(name, _)| CLASSIFIER_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(key, value)| Attribute { key, value })
        .collect()
}

/// Whether the host recognised a spam complaint (labelled `unsubscribe`).
fn is_complaint(verdict: &Verdict) -> bool {
    verdict.version == HOST && verdict.reason.starts_with(COMPLAINT)
}

/// Whether the host recognised a 5.7.x policy block (labelled a soft bounce).
fn is_block(verdict: &Verdict) -> bool {
    verdict.version == HOST && verdict.reason.starts_with(BLOCKED)
}

/// The stored name of a verdict's label: the label's, except `complaint`
/// and `bounce-block` for what the host recognised as such.
fn stored_label(verdict: &Verdict) -> String {
    if is_complaint(verdict) {
        "complaint".into()
    } else if is_block(verdict) {
        "bounce-block".into()
    } else {
        label_name(&verdict.label)
    }
}

/// The stored name of a label.
pub fn label_name(label: &ReplyLabel) -> String {
    match label {
        ReplyLabel::Interested => "interested",
        ReplyLabel::NotInterested => "not-interested",
        ReplyLabel::Referral(_) => "referral",
        ReplyLabel::Question => "question",
        ReplyLabel::OutOfOffice(_) => "out-of-office",
        ReplyLabel::Unsubscribe => "unsubscribe",
        ReplyLabel::Bounce(BounceKind::Hard) => "bounce-hard",
        ReplyLabel::Bounce(BounceKind::Soft) => "bounce-soft",
        ReplyLabel::AutoReply => "auto-reply",
        ReplyLabel::Unknown => "unknown",
    }
    .to_string()
}

/// Applies a verdict to its lead.
async fn apply(
    env: &CycleEnv<'_>,
    message: &InboundMessage,
    lead: &Lead,
    verdict: &Verdict,
    applied: &mut Applied,
    report: &mut StepReport,
) -> Result<(), StepError> {
    let tenant = env.tenant.clone();
    let step = lead.current_step.checked_sub(1);
    let by = Some(verdict.version.clone());
    let stop = async |env: &CycleEnv<'_>| {
        env.store
            .set_lead_schedule(&tenant, lead.id, lead.current_step, None)
            .await
            .map_err(StepError::store("stop the lead's sequence"))
    };
    let reason = if verdict.reason.is_empty() {
        label_name(&verdict.label)
    } else {
        verdict.reason.clone()
    };
    match &verdict.label {
        ReplyLabel::Interested | ReplyLabel::Question => {
            applied.counters.record(step, |c| {
                c.replied += 1;
                c.positive += 1;
            });
            stop(env).await?;
            let interested = matches!(verdict.label, ReplyLabel::Interested);
            if interested && lead.state == LeadState::Contacted {
                env.move_lead(
                    &mut applied.moves,
                    lead,
                    LeadState::Interested,
                    &format!("replied: {reason}"),
                    by,
                )
                .await?;
            }
            applied.positive.push(PositiveReply {
                lead_id: lead.id,
                email: lead.fields.email.clone(),
                inbound_id: message.id,
                message_id: message.message.message_id.clone(),
                label: label_name(&verdict.label),
                subject: message.message.subject.clone(),
                excerpt: message.message.body_text.chars().take(300).collect(),
            });
        }
        ReplyLabel::NotInterested => {
            applied.counters.record(step, |c| {
                c.replied += 1;
                c.negative += 1;
            });
            stop(env).await?;
            if !lead.state.is_final() {
                env.move_lead(
                    &mut applied.moves,
                    lead,
                    LeadState::Lost,
                    &format!("not interested: {reason}"),
                    by,
                )
                .await?;
            }
        }
        ReplyLabel::Unsubscribe if is_complaint(verdict) => {
            applied.counters.record(step, |c| c.complaints += 1);
            let address = if verdict.detail.is_empty() {
                lead.fields.email.clone()
            } else {
                verdict.detail.clone()
            };
            suppress(env, &address, SuppressionReason::Complaint, &reason).await?;
            report.add("suppressed", 1);
            report.add("complaints", 1);
            stop(env).await?;
            if !lead.state.is_final() {
                env.move_lead(&mut applied.moves, lead, LeadState::Lost, "spam complaint", by)
                    .await?;
            }
        }
        ReplyLabel::Unsubscribe => {
            applied.counters.record(step, |c| {
                c.replied += 1;
                c.unsubscribed += 1;
            });
            suppress(env, &lead.fields.email, SuppressionReason::Unsubscribe, &reason).await?;
            report.add("suppressed", 1);
            stop(env).await?;
            if !lead.state.is_final() {
                env.move_lead(&mut applied.moves, lead, LeadState::Lost, "unsubscribed", by)
                    .await?;
            }
        }
        ReplyLabel::Bounce(BounceKind::Hard) => {
            applied.counters.record(step, |c| c.bounced += 1);
            let address = if verdict.detail.is_empty() {
                lead.fields.email.clone()
            } else {
                verdict.detail.clone()
            };
            suppress(env, &address, SuppressionReason::HardBounce, &reason).await?;
            report.add("suppressed", 1);
            stop(env).await?;
            if !lead.state.is_final() && lead.state != LeadState::Interested {
                env.move_lead(
                    &mut applied.moves,
                    lead,
                    LeadState::Dead,
                    &format!("hard bounce ({reason})"),
                    by,
                )
                .await?;
            }
        }
        // A 5.7.x block says the sender is blocked, not that the address is
        // bad: counted (a sender-health signal), never suppressed. A soft
        // bounce leaves the sequence going (the next step is the retry)
        // until the address has bounced softly SOFT_BOUNCE_LIMIT times.
        ReplyLabel::Bounce(BounceKind::Soft) => {
            // Blocks count towards the bounce rate too: the decision rules
            // must see a sender being refused.
            applied.counters.record(step, |c| c.bounced += 1);
            if is_block(verdict) {
                applied.counters.record(step, |c| c.blocked += 1);
                report.add("blocked", 1);
                return Ok(());
            }
            let soft = env
                .store
                .count_inbound_labelled(&env.tenant, lead.id, "bounce-soft")
                .await
                .map_err(StepError::store("count the lead's soft bounces"))?;
            if soft >= SOFT_BOUNCE_LIMIT {
                let note = format!("{soft} soft bounces, the last: {}", verdict.reason);
                suppress(env, &lead.fields.email, SuppressionReason::SoftBounces, &note).await?;
                report.add("suppressed", 1);
                stop(env).await?;
                if !lead.state.is_final() && lead.state != LeadState::Interested {
                    env.move_lead(&mut applied.moves, lead, LeadState::Dead, &note, by)
                        .await?;
                }
            }
        }
        ReplyLabel::OutOfOffice(date) => {
            let back = date
                .as_ref()
                .and_then(|d| NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
                .filter(|d| *d > env.now)
                .unwrap_or(env.now + DEFAULT_OUT_OF_OFFICE);
            if lead.state == LeadState::Contacted && lead.next_action_at.is_some() {
                let next = lead.next_action_at.map_or(back, |at| at.max(back));
                env.store
                    .set_lead_schedule(&tenant, lead.id, lead.current_step, Some(next))
                    .await
                    .map_err(StepError::store("defer the lead's next step"))?;
                report.add("deferred", 1);
                report.note(format!(
                    "{} is out of office; next step deferred to {}",
                    lead.fields.email,
                    next.format("%Y-%m-%d")
                ));
            }
        }
        ReplyLabel::Referral(referral) => {
            applied.counters.record(step, |c| c.replied += 1);
            stop(env).await?;
            let email = normalize(&referral.email).map_err(|source| StepError::InvalidReferral {
                address: referral.email.clone(),
                source,
            })?;
            let (first, last) = referral
                .name
                .as_deref()
                .map(|n| n.trim().split_once(' ').map_or((n.trim(), ""), |(f, l)| (f, l)))
                .map(|(f, l)| (f.to_string(), l.to_string()))
                .unwrap_or_default();
            let mut attributes = std::collections::BTreeMap::new();
            attributes.insert("referred_by".to_string(), lead.fields.email.clone());
            let new = NewLead {
                email: email.as_str().to_string(),
                first_name: first,
                last_name: last,
                company: lead.fields.company.clone(),
                domain: email.domain().to_string(),
                country: lead.fields.country.clone(),
                time_zone: lead.fields.time_zone.clone(),
                attributes,
                source_plugin: "referral".into(),
                source_version: verdict.version.clone(),
                ..NewLead::default()
            };
            let outcome = env
                .store
                .insert_leads(&tenant, env.campaign.id, &[new])
                .await
                .map_err(StepError::store("add the referred lead"))?;
            report.add("referred_leads", outcome.inserted);
            if outcome.inserted > 0 {
                report.note(format!(
                    "{} referred us to {}: new lead",
                    lead.fields.email,
                    email.as_str()
                ));
            }
        }
        ReplyLabel::AutoReply => {}
        ReplyLabel::Unknown => applied.counters.record(step, |c| c.replied += 1),
    }
    Ok(())
}

async fn suppress(env: &CycleEnv<'_>, address: &str, reason: SuppressionReason, note: &str) -> Result<(), StepError> {
    env.store
        .add_suppression(&env.tenant, SuppressionKind::Address, address, reason, note)
        .await
        .map_err(|source| StepError::Suppress {
            address: address.to_string(),
            source,
        })
}
