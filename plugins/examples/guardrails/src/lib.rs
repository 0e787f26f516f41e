//! `guardrails`: a decision rule that pauses a running campaign when
//! - its goal of qualified leads is reached,
//! - more than half of its replies are negative (the loss rate),
//! - no lead has qualified after 90 days,
//! - more than 2 % of its sent emails bounced,
//! - anyone complained about spam (this also raises an alert),
//!
//! each with a reason that carries the numbers. Every threshold can be changed
//! in the manifest's `[config]` (see [`rules::Thresholds`]).

mod rules;

use cam_plugin_sdk::{CampaignSnapshot, Capability, Decision, DecisionRule, PluginInfo, config};
use rules::Thresholds;

/// The decision rule.
pub struct Guardrails;

impl DecisionRule for Guardrails {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Pauses a campaign on goal reached, loss rate, no qualified lead, bounce rate or spam complaints.",
            &[Capability::Config, Capability::Log],
        )
    }

    fn decide(snapshot: CampaignSnapshot) -> Vec<Decision> {
        // `decide` cannot return an error: a broken config raises an alert
        // and falls back to the default thresholds, so the guardrails still hold.
        let (thresholds, config_error) = match config::load::<Thresholds>() {
            Ok(thresholds) => (thresholds, None),
            Err(error) => (Thresholds::default(), Some(error.to_string())),
        };
        let mut decisions = rules::decide(&thresholds, &snapshot);
        if let Some(error) = config_error {
            cam_plugin_sdk::log::warn(&format!("guardrails: {error}; using default thresholds"));
            decisions.insert(
                0,
                Decision::new(
                    cam_plugin_sdk::Action::RaiseAlert(format!("guardrails config is invalid: {error}")),
                    "the manifest's [config] could not be read; default thresholds apply",
                ),
            );
        }
        decisions
    }
}

cam_plugin_sdk::export_decision_rule!(Guardrails);

#[cfg(test)]
mod tests {
    use super::*;
    use cam_plugin_sdk::{Action, CampaignMetrics, CampaignStatus, testing};

    fn snapshot() -> CampaignSnapshot {
        CampaignSnapshot {
            campaign: "spring".to_owned(),
            status: CampaignStatus::Running,
            goal: 10,
            daily_cap: 50,
            started_at: 0,
            now: 86_400,
            metrics: CampaignMetrics {
                sent: 100,
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

    #[test]
    fn configured_thresholds_replace_the_defaults() {
        testing::reset();
        testing::set_config("max_bounce_percent", "10");
        let mut s = snapshot();
        s.metrics.bounced = 5;
        let decisions = Guardrails::decide(s);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].action, Action::Nothing);
    }

    #[test]
    fn the_shipped_manifest_config_is_accepted() {
        testing::reset();
        testing::use_manifest_config(include_str!("../guardrails.toml")).unwrap();
        let decisions = Guardrails::decide(snapshot());
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].action, Action::Nothing);
    }

    #[test]
    fn a_broken_config_alerts_and_keeps_the_default_guardrails() {
        testing::reset();
        testing::set_config("max_bounce_percentage", "10");
        let mut s = snapshot();
        s.metrics.bounced = 5;
        let decisions = Guardrails::decide(s);
        assert!(matches!(decisions[0].action, Action::RaiseAlert(ref m) if m.contains("max_bounce_percentage")));
        assert_eq!(decisions[1].action, Action::PauseCampaign);
        assert_eq!(decisions[1].reason, "bounce rate 5% > 2% (5 of 100 sent)");
    }
}
