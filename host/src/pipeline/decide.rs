//! Step 10, decide: the campaign's decision rules see its metrics and state
//! and return actions; the host applies each and records why, and who
//! (`decision-rule:<name>@<version>`), in the campaign's status reason.

use super::env::CycleEnv;
use super::error::StepError;
use super::metrics::CampaignMetrics;
use super::step::{Moves, Step, StepOutcome};
use super::wire;
use crate::domain::model::{Campaign, CampaignStatus, NewAlert};
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

/// What the rules changed.
#[derive(Debug, Default)]
pub struct Decided {
    /// The campaign as the rules left it, when they changed it.
    pub campaign: Option<Campaign>,
    /// Every applied decision, in words.
    pub decisions: Vec<String>,
    /// Alerts the rules raised, in words.
    pub alerts: Vec<String>,
}

/// Runs the step on the metrics of the metrics step (`None` when it failed).
pub async fn run(env: &CycleEnv<'_>, metrics: Option<&CampaignMetrics>) -> StepOutcome<Decided> {
    let mut report = Step::Decide.report();
    let rules = env.campaign.config.plugins.decision_rules.clone();
    if rules.is_empty() {
        return report.skipped("no decision rule bound").into();
    }
    let Some(m) = metrics else {
        return report
            .failed("metrics", "the metrics step failed, so rules have nothing to judge")
            .into();
    };
    let mut state = Deciding {
        campaign: env.campaign.clone(),
        changed: false,
        moves: Moves::default(),
        decided: Decided::default(),
    };
    for name in rules {
        let plugin = match env.plugin(&name, PluginKind::DecisionRule) {
            Ok(p) => p,
            Err(reason) => {
                report.fail(&name, reason);
                continue;
            }
        };
        report.used(plugin.name(), plugin.version());
        let snapshot = CampaignSnapshot {
            campaign: state.campaign.config.name.clone(),
            status: status(state.campaign.status),
            goal: state.campaign.config.goal_qualified,
            daily_cap: state.campaign.config.daily_cap,
            started_at: state.campaign.created_at.timestamp(),
            now: env.now.timestamp(),
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
        let decisions = match plugin.decide(env.scope(), &snapshot).await {
            Ok(d) => d,
            Err(e) => {
                report.fail(&name, e.to_string());
                continue;
            }
        };
        if let Some(shadow) = &env.shadow {
            let input = format!("{} metrics", env.campaign.config.name);
            shadow.decide(&plugin, env.scope(), &input, &snapshot, &decisions).await;
        }
        let actor = format!("decision-rule:{}@{}", plugin.name(), plugin.version());
        for decision in decisions {
            match apply(env, &mut state, &decision.action, &decision.reason, &actor).await {
                Ok(Some(line)) => {
                    report.add("applied", 1);
                    report.note(line.clone());
                    state.decided.decisions.push(line);
                }
                Ok(None) => report.add("no_change", 1),
                Err(reason) => report.fail(&actor, reason),
            }
        }
    }
    let Deciding {
        campaign,
        changed,
        moves,
        mut decided,
    } = state;
    decided.campaign = changed.then_some(campaign);
    StepOutcome {
        report,
        moves,
        output: decided,
    }
}

/// The campaign as the rules change it, during the step.
struct Deciding {
    campaign: Campaign,
    changed: bool,
    moves: Moves,
    decided: Decided,
}

/// Applies one action; `Some(line)` describes a change, `None` means nothing to do.
async fn apply(
    env: &CycleEnv<'_>,
    state: &mut Deciding,
    action: &Action,
    reason: &str,
    actor: &str,
) -> Result<Option<String>, StepError> {
    let tenant = env.tenant.clone();
    let id = env.campaign.id;
    let set_status = async |state: &mut Deciding, to: CampaignStatus| -> Result<Option<String>, StepError> {
        if state.campaign.status == to {
            return Ok(None);
        }
        let updated = env
            .store
            .set_campaign_status(&tenant, id, to, reason, actor)
            .await
            .map_err(StepError::store("change the campaign's status"))?;
        state.campaign.status = updated.status;
        state.campaign.status_reason = updated.status_reason;
        state.campaign.status_actor = updated.status_actor;
        state.changed = true;
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
        Action::PauseCampaign => set_status(state, CampaignStatus::Paused).await,
        Action::ResumeCampaign => set_status(state, CampaignStatus::Running).await,
        Action::CompleteCampaign => set_status(state, CampaignStatus::Done).await,
        Action::SetDailyCap(cap) => {
            if *cap == state.campaign.config.daily_cap {
                return Ok(None);
            }
            env.store
                .set_daily_cap(&tenant, id, *cap)
                .await
                .map_err(StepError::store("change the daily cap"))?;
            let line = format!(
                "daily cap {} → {cap}: {reason} ({actor})",
                state.campaign.config.daily_cap
            );
            state.campaign.config.daily_cap = *cap;
            state.changed = true;
            Ok(Some(line))
        }
        Action::MoveLead(mv) => {
            let lead = env
                .store
                .lead_by_email(&tenant, &mv.email)
                .await
                .map_err(StepError::store("find the lead"))?
                .filter(|l| l.campaign_id == id)
                .ok_or_else(|| StepError::NoSuchLead {
                    email: mv.email.clone(),
                })?;
            let to = wire::from_state(mv.to);
            if lead.state == to {
                return Ok(None);
            }
            env.move_lead(&mut state.moves, &lead, to, reason, Some(actor.to_string()))
                .await?;
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
                payload: serde_json::json!({ "campaign": state.campaign.config.name, "message": text, "reason": reason, "rule": actor }),
            };
            match env
                .store
                .insert_alert(&tenant, &alert)
                .await
                .map_err(StepError::store("raise the alert"))?
            {
                Insertion::New(_) => {
                    state.decided.alerts.push(format!("{text} ({actor})"));
                    Ok(Some(format!("raised an alert: {text}")))
                }
                Insertion::Existing(_) => Ok(None),
            }
        }
        Action::Nothing => Ok(None),
    }
}
