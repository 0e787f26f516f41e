//! The guardrails as plain functions over a campaign snapshot.

use cam_plugin_sdk::{Action, CampaignSnapshot, CampaignStatus, Decision};
use serde::Deserialize;

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// The thresholds, from the manifest's `[config]`; every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Pause once `qualified >= goal` (a goal of 0 means no goal).
    pub pause_on_goal: bool,
    /// Pause when negative replies exceed this share of replies, in percent.
    pub max_loss_percent: f64,
    /// Judge the loss rate only from this many replies on, so one early "no"
    /// does not stop a campaign.
    pub min_replies_for_loss: u32,
    /// Pause when no lead has qualified this many days after the start.
    pub days_without_qualified: u32,
    /// Pause when bounces exceed this share of sent emails, in percent.
    pub max_bounce_percent: f64,
    /// Judge the bounce rate only from this many sent emails on.
    pub min_sent_for_bounce: u32,
    /// Pause when spam complaints exceed this count (0: any complaint pauses).
    pub max_complaints: u32,
    /// Also raise an alert for a human on spam complaints.
    pub alert_on_complaint: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            pause_on_goal: true,
            max_loss_percent: 50.0,
            min_replies_for_loss: 10,
            days_without_qualified: 90,
            max_bounce_percent: 2.0,
            // Below ~50 sends one bounce is already 2 %: too noisy to act on.
            min_sent_for_bounce: 50,
            max_complaints: 0,
            alert_on_complaint: true,
        }
    }
}

/// What the guardrails want done with this campaign, each with its reason.
/// Always at least one decision: `nothing` with a summary when all pass.
pub fn decide(t: &Thresholds, s: &CampaignSnapshot) -> Vec<Decision> {
    if s.status != CampaignStatus::Running {
        let status = match s.status {
            CampaignStatus::Paused => "paused",
            _ => "done",
        };
        return vec![Decision::new(
            Action::Nothing,
            format!("campaign is {status}: guardrails only watch running campaigns"),
        )];
    }
    let m = &s.metrics;
    let mut decisions = Vec::new();
    let mut checks = Vec::new();

    if t.pause_on_goal && s.goal > 0 {
        if m.qualified >= s.goal {
            decisions.push(Decision::new(
                Action::PauseCampaign,
                format!("goal reached: {} qualified of {} wanted", m.qualified, s.goal),
            ));
        } else {
            checks.push(format!("{}/{} qualified", m.qualified, s.goal));
        }
    }

    if m.replied >= t.min_replies_for_loss && m.replied > 0 {
        let loss = percent(m.negative, m.replied);
        if loss > t.max_loss_percent {
            decisions.push(Decision::new(
                Action::PauseCampaign,
                format!(
                    "loss rate {} > {} ({} negative of {} replies)",
                    pct(loss),
                    pct(t.max_loss_percent),
                    m.negative,
                    m.replied
                ),
            ));
        } else {
            checks.push(format!("loss rate {} <= {}", pct(loss), pct(t.max_loss_percent)));
        }
    }

    let days = (s.now - s.started_at).div_euclid(DAY_SECS);
    if m.qualified == 0 && days >= i64::from(t.days_without_qualified) {
        decisions.push(Decision::new(
            Action::PauseCampaign,
            format!(
                "no qualified lead after {days} days (limit {} days)",
                t.days_without_qualified
            ),
        ));
    }

    if m.sent >= t.min_sent_for_bounce && m.sent > 0 {
        let bounce = percent(m.bounced, m.sent);
        if bounce > t.max_bounce_percent {
            decisions.push(Decision::new(
                Action::PauseCampaign,
                format!(
                    "bounce rate {} > {} ({} of {} sent)",
                    pct(bounce),
                    pct(t.max_bounce_percent),
                    m.bounced,
                    m.sent
                ),
            ));
        } else {
            checks.push(format!("bounce rate {} <= {}", pct(bounce), pct(t.max_bounce_percent)));
        }
    }

    if m.complaints > t.max_complaints {
        let reason = format!(
            "{} spam complaint{} (allowed: {})",
            m.complaints,
            if m.complaints == 1 { "" } else { "s" },
            t.max_complaints
        );
        decisions.push(Decision::new(Action::PauseCampaign, reason.clone()));
        if t.alert_on_complaint {
            decisions.push(Decision::new(
                Action::RaiseAlert(format!("campaign {}: {reason}", s.campaign)),
                "spam complaints hurt the sending domain's reputation: a human should look",
            ));
        }
    }

    if decisions.is_empty() {
        let summary = if checks.is_empty() {
            "all guardrails pass".to_owned()
        } else {
            format!("all guardrails pass: {}", checks.join(", "))
        };
        decisions.push(Decision::new(Action::Nothing, summary));
    }
    decisions
}

fn percent(part: u32, whole: u32) -> f64 {
    f64::from(part) * 100.0 / f64::from(whole)
}

/// `3.1%`, `2%`: one decimal, none when it is zero.
fn pct(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cam_plugin_sdk::CampaignMetrics;

    fn running(sent: u32) -> CampaignSnapshot {
        CampaignSnapshot {
            campaign: "spring".to_owned(),
            status: CampaignStatus::Running,
            goal: 10,
            daily_cap: 50,
            started_at: 1_700_000_000,
            now: 1_700_000_000 + 10 * DAY_SECS,
            metrics: CampaignMetrics {
                sent,
                replied: 0,
                positive: 0,
                negative: 0,
                bounced: 0,
                unsubscribed: 0,
                complaints: 0,
                qualified: 0,
            },
            leads_by_state: Vec::new(),
        }
    }

    fn reasons(decisions: &[Decision]) -> Vec<&str> {
        decisions.iter().map(|d| d.reason.as_str()).collect()
    }

    #[test]
    fn a_healthy_campaign_gets_nothing_with_a_summary() {
        let mut s = running(200);
        s.metrics.bounced = 2;
        s.metrics.qualified = 3;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].action, Action::Nothing);
        assert_eq!(
            decisions[0].reason,
            "all guardrails pass: 3/10 qualified, bounce rate 1% <= 2%"
        );
    }

    #[test]
    fn reaching_the_goal_pauses() {
        let mut s = running(200);
        s.metrics.qualified = 10;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(decisions[0].action, Action::PauseCampaign);
        assert_eq!(reasons(&decisions), vec!["goal reached: 10 qualified of 10 wanted"]);
    }

    #[test]
    fn a_zero_goal_never_counts_as_reached() {
        let mut s = running(200);
        s.goal = 0;
        s.metrics.qualified = 1;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
    }

    #[test]
    fn a_loss_rate_over_half_pauses() {
        let mut s = running(200);
        s.metrics.replied = 20;
        s.metrics.negative = 11;
        s.metrics.qualified = 1;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(
            reasons(&decisions),
            vec!["loss rate 55% > 50% (11 negative of 20 replies)"]
        );
        assert_eq!(decisions[0].action, Action::PauseCampaign);
    }

    #[test]
    fn exactly_half_lost_is_not_over_the_limit() {
        let mut s = running(200);
        s.metrics.replied = 20;
        s.metrics.negative = 10;
        s.metrics.qualified = 1;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
    }

    #[test]
    fn too_few_replies_do_not_judge_the_loss_rate() {
        let mut s = running(200);
        s.metrics.replied = 3;
        s.metrics.negative = 3;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
    }

    #[test]
    fn ninety_days_without_a_qualified_lead_pauses() {
        let mut s = running(200);
        s.now = s.started_at + 90 * DAY_SECS;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(
            reasons(&decisions),
            vec!["no qualified lead after 90 days (limit 90 days)"]
        );
        s.now -= 1;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
        s.now += 1;
        s.metrics.qualified = 1;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
    }

    #[test]
    fn a_bounce_rate_over_two_percent_pauses_with_its_numbers() {
        let mut s = running(1000);
        s.metrics.bounced = 31;
        s.metrics.qualified = 1;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(reasons(&decisions), vec!["bounce rate 3.1% > 2% (31 of 1000 sent)"]);
    }

    #[test]
    fn bounces_on_a_small_sample_are_not_judged() {
        let mut s = running(20);
        s.metrics.bounced = 2;
        assert_eq!(decide(&Thresholds::default(), &s)[0].action, Action::Nothing);
    }

    #[test]
    fn any_spam_complaint_pauses_and_alerts() {
        let mut s = running(10);
        s.metrics.complaints = 1;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(decisions[0].action, Action::PauseCampaign);
        assert_eq!(decisions[0].reason, "1 spam complaint (allowed: 0)");
        assert_eq!(
            decisions[1].action,
            Action::RaiseAlert("campaign spring: 1 spam complaint (allowed: 0)".to_owned())
        );
    }

    #[test]
    fn every_broken_guardrail_is_reported() {
        let mut s = running(1000);
        s.now = s.started_at + 120 * DAY_SECS;
        s.metrics.bounced = 50;
        s.metrics.complaints = 2;
        s.metrics.replied = 10;
        s.metrics.negative = 9;
        let decisions = decide(&Thresholds::default(), &s);
        let pauses = decisions.iter().filter(|d| d.action == Action::PauseCampaign).count();
        assert_eq!(pauses, 4, "{decisions:?}");
    }

    #[test]
    fn paused_campaigns_are_left_alone() {
        let mut s = running(1000);
        s.status = CampaignStatus::Paused;
        s.metrics.complaints = 5;
        let decisions = decide(&Thresholds::default(), &s);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].action, Action::Nothing);
        assert!(decisions[0].reason.contains("paused"));
    }

    #[test]
    fn thresholds_deserialize_from_partial_config() {
        let t: Thresholds = serde_json::from_str(r#"{"max_bounce_percent": 5, "max_complaints": 2}"#).unwrap();
        assert_eq!(t.max_bounce_percent, 5.0);
        assert_eq!(t.max_complaints, 2);
        assert_eq!(t.days_without_qualified, 90);
    }

    #[test]
    fn percentages_print_with_at_most_one_decimal() {
        assert_eq!(pct(2.0), "2%");
        assert_eq!(pct(3.1234), "3.1%");
        assert_eq!(pct(66.666), "66.7%");
    }
}
