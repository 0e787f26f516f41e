//! Step 10, decide: the campaign's decision rules see its metrics and state
//! and return actions; the host applies each and records why, and who
//! (`decision-rule:<name>@<version>`), in the campaign's status reason.

use super::context::CycleContext;
use super::report::StepReport;
use super::wire;
use crate::domain::model::{CampaignStatus, NewAlert};
use crate::plugins::PluginKind;
use crate::runtime::bindings::types::{self, Action, CampaignSnapshot, StateCount};
use crate::store::Insertion;

fn status(status: CampaignStatus) -> types::CampaignStatus {
    match status {
        CampaignStatus::Running => types::CampaignStatus::Running,
        CampaignStatus::Paused => types::CampaignStatus::Paused,
        CampaignStatus::Done => types::CampaignStatus::Done,
    }
}

fn small(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("decide");
    let rules = ctx.campaign.config.plugins.decision_rules.clone();
    if rules.is_empty() {
        return report.skipped("no decision rule bound");
    }
    let Some(m) = ctx.metrics.clone() else {
        return report.failed("metrics", "the metrics step failed, so rules have nothing to judge");
    };
    for name in rules {
        let plugin = match ctx.plugin(&name, PluginKind::DecisionRule) {
            Ok(p) => p,
            Err(reason) => {
                report.fail(&name, reason);
                continue;
            }
        };
        report.used(plugin.name(), plugin.version());
        let snapshot = CampaignSnapshot {
            campaign: ctx.campaign.config.name.clone(),
            status: status(ctx.campaign.status),
            goal: ctx.campaign.config.goal_qualified,
            daily_cap: ctx.campaign.config.daily_cap,
            started_at: ctx.campaign.created_at.timestamp(),
            now: ctx.now.timestamp(),
            metrics: types::CampaignMetrics {
                sent: small(m.sent),
                replied: small(m.replies.replied),
                positive: small(m.replies.positive),
                negative: small(m.replies.negative),
                bounced: small(m.replies.bounced),
                unsubscribed: small(m.replies.unsubscribed),
                complaints: small(m.replies.complaints),
                qualified: small(m.qualified),
            },
            leads_by_state: m
                .leads_by_state
                .iter()
                .map(|(s, n)| StateCount {
                    state: wire::state(*s),
                    count: small(*n),
                })
                .collect(),
        };
        let decisions = match plugin.decide(ctx.scope(), &snapshot).await {
            Ok(d) => d,
            Err(e) => {
                report.fail(&name, e.to_string());
                continue;
            }
        };
        if let Some(shadow) = &ctx.shadow {
            let input = format!("{} metrics", ctx.campaign.config.name);
            shadow.decide(&plugin, ctx.scope(), &input, &snapshot, &decisions).await;
        }
        let actor = format!("decision-rule:{}@{}", plugin.name(), plugin.version());
        for decision in decisions {
            match apply(ctx, &decision.action, &decision.reason, &actor).await {
                Ok(Some(line)) => {
                    report.add("applied", 1);
                    report.note(line.clone());
                    ctx.decisions.push(line);
                }
                Ok(None) => report.add("no_change", 1),
                Err(reason) => report.fail(&actor, reason),
            }
        }
    }
    report
}

/// Applies one action; `Some(line)` describes a change, `None` means nothing to do.
async fn apply(
    ctx: &mut CycleContext<'_>,
    action: &Action,
    reason: &str,
    actor: &str,
) -> Result<Option<String>, String> {
    let tenant = ctx.tenant.clone();
    let id = ctx.campaign.id;
    let set_status = async |ctx: &mut CycleContext<'_>, to: CampaignStatus| -> Result<Option<String>, String> {
        if ctx.campaign.status == to {
            return Ok(None);
        }
        let updated = ctx
            .store
            .set_campaign_status(&tenant, id, to, reason, actor)
            .await
            .map_err(|e| e.to_string())?;
        ctx.campaign.status = updated.status;
        ctx.campaign.status_reason = updated.status_reason;
        ctx.campaign.status_actor = updated.status_actor;
        Ok(Some(format!(
            "{} the campaign: {reason} ({actor})",
            match to {
                CampaignStatus::Running => "resumed",
                CampaignStatus::Paused => "paused",
                CampaignStatus::Done => "completed",
            }
        )))
    };
    match action {
        Action::PauseCampaign => set_status(ctx, CampaignStatus::Paused).await,
        Action::ResumeCampaign => set_status(ctx, CampaignStatus::Running).await,
        Action::CompleteCampaign => set_status(ctx, CampaignStatus::Done).await,
        Action::SetDailyCap(cap) => {
            if *cap == ctx.campaign.config.daily_cap {
                return Ok(None);
            }
            ctx.store
                .set_daily_cap(&tenant, id, *cap)
                .await
                .map_err(|e| e.to_string())?;
            let line = format!(
                "daily cap {} → {cap}: {reason} ({actor})",
                ctx.campaign.config.daily_cap
            );
            ctx.campaign.config.daily_cap = *cap;
            Ok(Some(line))
        }
        Action::MoveLead(mv) => {
            let lead = ctx
                .store
                .lead_by_email(&tenant, &mv.email)
                .await
                .map_err(|e| e.to_string())?
                .filter(|l| l.campaign_id == id)
                .ok_or_else(|| format!("no lead {} in this campaign", mv.email))?;
            let to = wire::from_state(mv.to);
            if lead.state == to {
                return Ok(None);
            }
            ctx.move_lead(&lead, to, reason, Some(actor.to_string())).await?;
            Ok(Some(format!(
                "moved {} to {}: {reason} ({actor})",
                mv.email,
                to.as_str()
            )))
        }
        Action::RaiseAlert(text) => {
            let alert = NewAlert {
                idempotency_key: format!("decision:{id}:{actor}:{text}"),
                kind: "decision-rule".into(),
                lead_id: None,
                payload: serde_json::json!({ "campaign": ctx.campaign.config.name, "message": text, "reason": reason, "rule": actor }),
            };
            match ctx
                .store
                .insert_alert(&tenant, &alert)
                .await
                .map_err(|e| e.to_string())?
            {
                Insertion::New(_) => {
                    ctx.alerts.push(format!("{text} ({actor})"));
                    Ok(Some(format!("raised an alert: {text}")))
                }
                Insertion::Existing(_) => Ok(None),
            }
        }
        Action::Nothing => Ok(None),
    }
}
