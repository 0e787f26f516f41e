//! From the campaign file an operator writes ([`CampaignDef`]) to the
//! configuration the store keeps ([`NewCampaign`]), and back.
//!
//! The file is the source of truth for what a user can say: every campaign
//! is created through [`CampaignDef::to_new_campaign`], which validates first,
//! so the store never holds a campaign the file format would refuse. The two
//! differ only in spelling and units:
//!
//! | file (`CampaignDef`)            | store (`NewCampaign`)               |
//! |---------------------------------|-------------------------------------|
//! | `goal` (words), `goal_qualified`| `goal`, `goal_qualified`            |
//! | `steps[].delay_days`            | `steps[].delay_hours` (days × 24)   |
//! | `window.days` (never empty)     | `send_window.weekdays`              |
//! | `window.fallback_tz`            | `send_window.fallback_time_zone`    |
//!
//! The way back ([`CampaignDef::from_stored`]) is exact for anything this
//! module stored; a delay written by another tool in hours that are not
//! whole days is rounded up to the next day, and an empty weekday list
//! (every day, in the store's reading) becomes all seven days.

use chrono::Weekday;

use super::campaign_def::{CampaignDef, CampaignDefError, MailboxDef, PluginsDef, StepDef, WindowDef};
use super::model::{Mailbox, NewCampaign, PluginBindings, SendWindowSpec, SequenceStep};

/// Hours in a sequence delay day. Delays are counted in elapsed hours, so a
/// step "3 days later" is 72 hours later whatever DST does meanwhile.
const HOURS_PER_DAY: u32 = 24;

const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl CampaignDef {
    /// Validates the definition and converts it into what the store keeps.
    pub fn to_new_campaign(&self) -> Result<NewCampaign, CampaignDefError> {
        self.validate()?;
        Ok(NewCampaign {
            name: self.name.trim().to_owned(),
            goal_qualified: self.goal_qualified,
            daily_cap: self.daily_cap,
            mailboxes: self
                .mailboxes
                .iter()
                .map(|m| Mailbox {
                    address: m.address.trim().to_owned(),
                    daily_cap: m.daily_cap,
                })
                .collect(),
            send_window: SendWindowSpec {
                start: self.window.start,
                end: self.window.end,
                weekdays: self.window.days.clone(),
                fallback_time_zone: self.window.fallback_tz.trim().to_owned(),
            },
            steps: self
                .steps
                .iter()
                .map(|s| SequenceStep {
                    subject: s.subject.clone(),
                    body: s.body.clone(),
                    // validate() caps delay_days at MAX_DELAY_DAYS, far from overflow.
                    delay_hours: s.delay_days.saturating_mul(HOURS_PER_DAY),
                })
                .collect(),
            score_threshold: self.score_threshold,
            plugins: PluginBindings {
                lead_sources: self.plugins.lead_sources.clone(),
                enrichers: self.plugins.enrichers.clone(),
                scorer: self.plugins.scorer.clone(),
                reply_classifier: self.plugins.reply_classifier.clone(),
                decision_rules: self.plugins.decision_rules.clone(),
            },
            live: self.live,
            goal: self.goal.trim().to_owned(),
            after_last_step: self.after_last_step,
        })
    }

    /// The file form of a stored campaign (for `cam campaigns show --toml`
    /// and editing a campaign as a file).
    pub fn from_stored(campaign: &NewCampaign) -> CampaignDef {
        let days = if campaign.send_window.weekdays.is_empty() {
            ALL_WEEKDAYS.to_vec()
        } else {
            campaign.send_window.weekdays.clone()
        };
        CampaignDef {
            name: campaign.name.clone(),
            goal: campaign.goal.clone(),
            goal_qualified: campaign.goal_qualified,
            daily_cap: campaign.daily_cap,
            mailboxes: campaign
                .mailboxes
                .iter()
                .map(|m| MailboxDef {
                    address: m.address.clone(),
                    daily_cap: m.daily_cap,
                })
                .collect(),
            window: WindowDef {
                start: campaign.send_window.start,
                end: campaign.send_window.end,
                days,
                fallback_tz: campaign.send_window.fallback_time_zone.clone(),
            },
            score_threshold: campaign.score_threshold,
            live: campaign.live,
            after_last_step: campaign.after_last_step,
            plugins: PluginsDef {
                lead_sources: campaign.plugins.lead_sources.clone(),
                enrichers: campaign.plugins.enrichers.clone(),
                scorer: campaign.plugins.scorer.clone(),
                reply_classifier: campaign.plugins.reply_classifier.clone(),
                decision_rules: campaign.plugins.decision_rules.clone(),
            },
            steps: campaign
                .steps
                .iter()
                .map(|s| StepDef {
                    subject: s.subject.clone(),
                    body: s.body.clone(),
                    delay_days: s.delay_hours.div_ceil(HOURS_PER_DAY),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;
    use crate::domain::model::AfterLastStep;

    const SAMPLE: &str = include_str!("../../../examples/campaign.toml");

    fn sample() -> CampaignDef {
        CampaignDef::from_toml(SAMPLE).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_sample_file_converts_field_by_field() {
        let def = sample();
        let stored = def.to_new_campaign().unwrap();
        assert_eq!(stored.name, "dach-saas-founders");
        assert!(stored.goal.starts_with("Book 15-minute intro calls"), "{}", stored.goal);
        assert_eq!(stored.goal_qualified, def.goal_qualified);
        assert_eq!(stored.daily_cap, 60);
        assert_eq!(stored.score_threshold, 0.6);
        assert!(!stored.live);
        assert_eq!(stored.after_last_step, AfterLastStep::Nurture);
        assert_eq!(stored.mailboxes.len(), 2);
        assert_eq!(stored.mailboxes[0].address, "anna@outreach.example.com");
        assert_eq!(stored.mailboxes[0].daily_cap, 30);
        assert_eq!(stored.send_window.start, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(stored.send_window.end, NaiveTime::from_hms_opt(17, 0, 0).unwrap());
        assert_eq!(stored.send_window.weekdays, ALL_WEEKDAYS[..5].to_vec());
        assert_eq!(stored.send_window.fallback_time_zone, "Europe/Berlin");
        let delays: Vec<u32> = stored.steps.iter().map(|s| s.delay_hours).collect();
        assert_eq!(delays, vec![0, 72, 120]);
        assert_eq!(stored.steps[0].subject, def.steps[0].subject);
        assert_eq!(stored.steps[2].body, def.steps[2].body);
        assert!(stored.plugins.lead_sources.is_empty());
        assert_eq!(stored.plugins.enrichers, vec!["basic_enrich"]);
        assert_eq!(stored.plugins.scorer.as_deref(), Some("weighted_score"));
        assert_eq!(stored.plugins.reply_classifier.as_deref(), Some("heuristic_replies"));
        assert_eq!(stored.plugins.decision_rules, vec!["guardrails"]);
    }

    #[test]
    fn a_stored_campaign_reads_back_as_the_same_file() {
        for def in [sample(), CampaignDef::with_defaults("from flags")] {
            let stored = def.to_new_campaign().unwrap();
            assert_eq!(CampaignDef::from_stored(&stored), def);
        }
    }

    #[test]
    fn after_last_step_dead_is_kept() {
        let mut def = CampaignDef::with_defaults("x");
        def.after_last_step = AfterLastStep::Dead;
        assert_eq!(def.to_new_campaign().unwrap().after_last_step, AfterLastStep::Dead);
    }

    #[test]
    fn an_invalid_definition_is_refused_before_conversion() {
        let mut def = CampaignDef::with_defaults("x");
        def.daily_cap = 0;
        let err = def.to_new_campaign().unwrap_err();
        assert!(err.to_string().contains("daily_cap"), "{err}");
    }

    #[test]
    fn names_and_addresses_are_trimmed() {
        let mut def = CampaignDef::with_defaults("x");
        def.name = "  spaced  ".into();
        def.mailboxes = vec![MailboxDef {
            address: " a@b.com ".into(),
            daily_cap: 5,
        }];
        let stored = def.to_new_campaign().unwrap();
        assert_eq!(stored.name, "spaced");
        assert_eq!(stored.mailboxes[0].address, "a@b.com");
    }

    #[test]
    fn odd_hours_and_every_day_from_other_tools_read_back_sensibly() {
        let mut stored = CampaignDef::with_defaults("x").to_new_campaign().unwrap();
        stored.steps[1].delay_hours = 30;
        stored.send_window.weekdays.clear();
        let def = CampaignDef::from_stored(&stored);
        assert_eq!(def.steps[1].delay_days, 2);
        assert_eq!(def.window.days.len(), 7);
        def.validate().unwrap();
    }
}
