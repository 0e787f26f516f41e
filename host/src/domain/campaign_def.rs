//! A campaign as an operator writes it: a TOML file (see
//! `examples/campaign.toml`), or flags on `cam` that start from
//! [`CampaignDef::with_defaults`].
//!
//! Parsing is strict (`deny_unknown_fields`), so a typo such as `daily_cp`
//! is an error instead of a silently ignored setting, and
//! [`CampaignDef::validate`] checks everything that can be checked before
//! the first cycle (templates parse, caps are positive, the time zone
//! exists) and reports every problem at once, each with the field it is
//! about.

use chrono::{NaiveTime, TimeDelta, Weekday, WeekdaySet};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::email::normalize;
use super::template::{Template, TemplateError};
use super::window::SendWindow;

/// The default rolling-24-hour cap: about what a warmed-up mailbox can send
/// to strangers without hurting its reputation.
pub const DEFAULT_DAILY_CAP: u32 = 50;

/// The default minimum score a lead needs before it is contacted.
pub const DEFAULT_SCORE_THRESHOLD: f64 = 0.5;

/// The default goal: this many QUALIFIED leads and the campaign is done. A
/// small first target, so a forgotten campaign does not run for ever; raise
/// it for long-running campaigns.
pub const DEFAULT_GOAL_QUALIFIED: u32 = 10;

/// The longest campaign name accepted; names show up in the CLI, the
/// dashboard and log lines.
pub const MAX_NAME_LEN: usize = 100;

/// The longest delay between two steps; a longer gap means the lead has
/// forgotten the earlier email, so it should be a new campaign instead.
pub const MAX_DELAY_DAYS: u32 = 365;

/// One campaign: who it targets, how fast it sends, what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignDef {
    /// Unique within a tenant; what `--campaign NAME` refers to.
    pub name: String,
    /// What the campaign is for, in words (shown on the dashboard).
    #[serde(default)]
    pub goal: String,
    /// How many QUALIFIED leads the campaign aims for; it is done when it
    /// has them.
    #[serde(default = "default_goal_qualified")]
    pub goal_qualified: u32,
    /// Most emails the whole campaign sends in any 24 hours.
    #[serde(default = "default_daily_cap")]
    pub daily_cap: u32,
    /// The mailboxes it sends from. Empty means the tenant's default sender.
    #[serde(default)]
    pub mailboxes: Vec<MailboxDef>,
    /// When, on the recipient's clock, emails may go out.
    #[serde(default)]
    pub window: WindowDef,
    /// Leads scoring below this (0.0..=1.0) are not contacted.
    #[serde(default = "default_score_threshold")]
    pub score_threshold: f64,
    /// False (the default) writes emails to the local outbox instead of SMTP.
    #[serde(default)]
    pub live: bool,
    /// Where a lead goes when the last step got no reply.
    #[serde(default)]
    pub after_last_step: AfterLastStep,
    /// Which plugins the campaign uses, by name.
    #[serde(default)]
    pub plugins: PluginsDef,
    /// The sequence: the first step goes out first, each later one
    /// `delay_days` after the one before it.
    pub steps: Vec<StepDef>,
}

/// A sending mailbox and its own cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxDef {
    /// The From address.
    pub address: String,
    /// Most emails this mailbox sends in any 24 hours (for all campaigns
    /// that use it, as counted by the store).
    #[serde(default = "default_daily_cap")]
    pub daily_cap: u32,
}

/// The send window as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowDef {
    /// Opening time, `"09:00"`.
    pub start: NaiveTime,
    /// Closing time (exclusive), `"17:00"`.
    pub end: NaiveTime,
    /// Weekdays, `["mon", "tue", ...]` (full names work too).
    pub days: Vec<Weekday>,
    /// IANA zone used for leads without a usable one.
    pub fallback_tz: String,
}

impl Default for WindowDef {
    fn default() -> Self {
        let window = SendWindow::business_hours(chrono_tz::UTC);
        Self {
            start: window.start(),
            end: window.end(),
            days: window.days().iter(Weekday::Mon).collect(),
            fallback_tz: "UTC".to_owned(),
        }
    }
}

pub use super::model::AfterLastStep;

/// The plugins a campaign uses, by their registered names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginsDef {
    /// Lead sources called by the discover step.
    #[serde(default)]
    pub lead_sources: Vec<String>,
    /// Enrichers, run in order.
    #[serde(default)]
    pub enrichers: Vec<String>,
    /// The scorer; without one every lead scores 1.0.
    #[serde(default)]
    pub scorer: Option<String>,
    /// The reply classifier; without one replies wait for a human. The
    /// TOML key `classifier` (its old name) is still read.
    #[serde(default, alias = "classifier")]
    pub reply_classifier: Option<String>,
    /// Decision rules, applied in order. The TOML key `rules` (its old
    /// name) is still read.
    #[serde(default, alias = "rules")]
    pub decision_rules: Vec<String>,
}

/// One email of the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Subject template (one line).
    pub subject: String,
    /// Body template.
    pub body: String,
    /// Days after the previous step (after the lead was picked, for the
    /// first step).
    #[serde(default)]
    pub delay_days: u32,
}

/// A step with its templates parsed, ready to render per lead.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    /// The subject.
    pub subject: Template,
    /// The body.
    pub body: Template,
    /// How long after the previous step it goes out.
    pub delay: TimeDelta,
}

/// One thing wrong with a campaign definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field, as a path: `steps[2].body`, `mailboxes[0].daily_cap`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Why a campaign definition was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CampaignDefError {
    /// Not TOML, or not the shape of a campaign (unknown or mistyped field).
    #[error("the campaign file is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// Well-formed but with values that cannot work.
    #[error("campaign {name:?} is invalid:{}", list(.problems))]
    Invalid {
        /// The campaign's name as written.
        name: String,
        /// Every problem found.
        problems: Vec<FieldProblem>,
    },
}

fn list(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n  - {}: {}", p.field, p.message))
        .collect()
}

fn default_daily_cap() -> u32 {
    DEFAULT_DAILY_CAP
}

fn default_goal_qualified() -> u32 {
    DEFAULT_GOAL_QUALIFIED
}

fn default_score_threshold() -> f64 {
    DEFAULT_SCORE_THRESHOLD
}

impl CampaignDef {
    /// Parses and validates a campaign file's text.
    pub fn from_toml(text: &str) -> Result<Self, CampaignDefError> {
        let def: CampaignDef = toml::from_str(text)?;
        def.validate()?;
        Ok(def)
    }

    /// The definition as TOML, for `cam` to write out a campaign made from
    /// flags.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// A campaign with sensible defaults and a generic three-step sequence
    /// (day 0, +3 days, +4 days) whose templates only use fields with
    /// defaults, for creating one from the command line: 50 a day, goal 10
    /// qualified leads, business hours Mon–Fri in the lead's zone (UTC when
    /// unknown), dry-run.
    pub fn with_defaults(name: &str) -> Self {
        Self {
            name: name.trim().to_owned(),
            goal: String::new(),
            goal_qualified: DEFAULT_GOAL_QUALIFIED,
            daily_cap: DEFAULT_DAILY_CAP,
            mailboxes: Vec::new(),
            window: WindowDef::default(),
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            live: false,
            after_last_step: AfterLastStep::Nurture,
            plugins: PluginsDef::default(),
            steps: vec![
                StepDef {
                    subject: "Quick question, {{first_name|there}}".to_owned(),
                    body: "Hi {{first_name|there}},\n\n\
                           I am reaching out because {{company|your team}} looks like a good fit \
                           for what we do. Would a 15-minute call next week be useful?\n\n\
                           Best regards"
                        .to_owned(),
                    delay_days: 0,
                },
                StepDef {
                    subject: "Re: Quick question, {{first_name|there}}".to_owned(),
                    body: "Hi {{first_name|there}},\n\n\
                           Just bringing this back to the top of your inbox. Happy to send a \
                           short summary instead of a call if that is easier.\n\n\
                           Best regards"
                        .to_owned(),
                    delay_days: 3,
                },
                StepDef {
                    subject: "Should I close the loop, {{first_name|there}}?".to_owned(),
                    body: "Hi {{first_name|there}},\n\n\
                           I have not heard back, so I will assume the timing is not right for \
                           {{company|your team}}. If that changes, just reply to this email.\n\n\
                           Best regards"
                        .to_owned(),
                    delay_days: 4,
                },
            ],
        }
    }

    /// Checks every value, reporting all problems at once.
    pub fn validate(&self) -> Result<(), CampaignDefError> {
        let mut problems = Vec::new();
        let mut problem = |field: String, message: String| {
            problems.push(FieldProblem { field, message });
        };

        let name = self.name.trim();
        if name.is_empty() {
            problem("name".into(), "must not be empty".into());
        } else if name.chars().count() > MAX_NAME_LEN {
            problem("name".into(), format!("must be at most {MAX_NAME_LEN} characters"));
        } else if name.chars().any(char::is_control) {
            problem("name".into(), "must not contain control characters".into());
        }
        if self.goal_qualified == 0 {
            problem("goal_qualified".into(), "must be greater than 0".into());
        }
        if self.daily_cap == 0 {
            problem("daily_cap".into(), "must be greater than 0".into());
        }
        if !(0.0..=1.0).contains(&self.score_threshold) {
            problem(
                "score_threshold".into(),
                format!("must be between 0.0 and 1.0 (got {})", self.score_threshold),
            );
        }

        let mut seen = Vec::new();
        for (i, mailbox) in self.mailboxes.iter().enumerate() {
            match normalize(&mailbox.address) {
                Ok(address) if seen.contains(&address) => {
                    problem(format!("mailboxes[{i}].address"), format!("{address} is listed twice"))
                }
                Ok(address) => seen.push(address),
                Err(e) => problem(
                    format!("mailboxes[{i}].address"),
                    format!("{:?} is not a valid address: {e}", mailbox.address),
                ),
            }
            if mailbox.daily_cap == 0 {
                problem(format!("mailboxes[{i}].daily_cap"), "must be greater than 0".into());
            }
        }

        let plugin_names = [
            ("plugins.lead_sources", &self.plugins.lead_sources[..]),
            ("plugins.enrichers", &self.plugins.enrichers[..]),
            ("plugins.scorer", self.plugins.scorer.as_slice()),
            ("plugins.reply_classifier", self.plugins.reply_classifier.as_slice()),
            ("plugins.decision_rules", &self.plugins.decision_rules[..]),
        ];
        for (field, names) in plugin_names {
            if names.iter().any(|n| n.trim().is_empty()) {
                problem(field.into(), "plugin names must not be empty".into());
            }
        }

        if let Err(e) = self.send_window() {
            problem("window".into(), e.to_string());
        }

        if self.steps.is_empty() {
            problem(
                "steps".into(),
                "the sequence needs at least one step ([[steps]] with subject and body)".into(),
            );
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(e) = Template::parse(&step_name(i, "subject"), &step.subject) {
                problem(format!("steps[{i}].subject"), e.to_string());
            }
            if step.subject.trim().is_empty() {
                problem(format!("steps[{i}].subject"), "must not be empty".into());
            }
            if step.subject.contains(['\r', '\n']) {
                problem(
                    format!("steps[{i}].subject"),
                    "must be a single line (a line break would corrupt the email headers)".into(),
                );
            }
            if let Err(e) = Template::parse(&step_name(i, "body"), &step.body) {
                problem(format!("steps[{i}].body"), e.to_string());
            }
            if step.body.trim().is_empty() {
                problem(format!("steps[{i}].body"), "must not be empty".into());
            }
            if step.delay_days > MAX_DELAY_DAYS {
                problem(
                    format!("steps[{i}].delay_days"),
                    format!("must be at most {MAX_DELAY_DAYS} days"),
                );
            }
            if i > 0 && step.delay_days == 0 {
                problem(
                    format!("steps[{i}].delay_days"),
                    "a follow-up needs at least 1 day after the previous step".into(),
                );
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(CampaignDefError::Invalid {
                name: self.name.clone(),
                problems,
            })
        }
    }

    /// The send window, with the fallback zone resolved.
    pub fn send_window(&self) -> Result<SendWindow, super::window::WindowError> {
        let tz: Tz = self
            .window
            .fallback_tz
            .trim()
            .parse()
            .map_err(|_| super::window::WindowError::UnknownZone(self.window.fallback_tz.clone()))?;
        let days = self.window.days.iter().fold(WeekdaySet::EMPTY, |mut set, &day| {
            set.insert(day);
            set
        });
        SendWindow::new(self.window.start, self.window.end, days, tz)
    }

    /// The steps with their templates parsed.
    pub fn compile_steps(&self) -> Result<Vec<CompiledStep>, TemplateError> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                Ok(CompiledStep {
                    subject: Template::parse(&step_name(i, "subject"), &step.subject)?,
                    body: Template::parse(&step_name(i, "body"), &step.body)?,
                    delay: TimeDelta::days(i64::from(step.delay_days)),
                })
            })
            .collect()
    }
}

/// How templates are named in errors: `step 1 subject` (1-based for people).
fn step_name(index: usize, part: &str) -> String {
    format!("step {} {part}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::LeadState;

    const SAMPLE: &str = include_str!("../../../examples/campaign.toml");

    fn problems(def: &CampaignDef) -> Vec<String> {
        match def.validate() {
            Err(CampaignDefError::Invalid { problems, .. }) => problems.into_iter().map(|p| p.field).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn the_sample_campaign_parses_and_validates() {
        let def = CampaignDef::from_toml(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert!(!def.live);
        assert!(def.steps.len() >= 2);
        assert!(!def.mailboxes.is_empty());
        assert_eq!(def.compile_steps().unwrap().len(), def.steps.len());
        let window = def.send_window().unwrap();
        assert_eq!(window.fallback_tz(), chrono_tz::Europe::Berlin);
    }

    #[test]
    fn defaults_make_a_valid_campaign_that_round_trips() {
        let def = CampaignDef::with_defaults("q3 founders");
        def.validate().unwrap();
        let text = def.to_toml().unwrap();
        assert_eq!(CampaignDef::from_toml(&text).unwrap(), def);
    }

    #[test]
    fn a_minimal_file_gets_the_defaults() {
        let def = CampaignDef::from_toml(
            "name = \"min\"\n[[steps]]\nsubject = \"Hi\"\nbody = \"Hello {{first_name|there}}\"\n",
        )
        .unwrap();
        assert_eq!(def.daily_cap, DEFAULT_DAILY_CAP);
        assert_eq!(def.after_last_step, AfterLastStep::Nurture);
        assert_eq!(def.window, WindowDef::default());
        assert!(!def.live);
    }

    #[test]
    fn the_old_classifier_key_still_names_the_reply_classifier() {
        let old = SAMPLE.replace("reply_classifier = ", "classifier = ");
        assert_ne!(old, SAMPLE);
        let def = CampaignDef::from_toml(&old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.plugins.reply_classifier.as_deref(), Some("heuristic_replies"));
        assert!(def.to_toml().unwrap().contains("reply_classifier = "));
    }

    #[test]
    fn the_old_rules_key_still_names_the_decision_rules() {
        let old = SAMPLE.replace("decision_rules = ", "rules = ");
        assert_ne!(old, SAMPLE);
        let def = CampaignDef::from_toml(&old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.plugins.decision_rules, vec!["guardrails"]);
        assert!(def.to_toml().unwrap().contains("decision_rules = "));
    }

    #[test]
    fn unknown_fields_are_errors_not_ignored() {
        let err = CampaignDef::from_toml("name = \"x\"\ndaily_cp = 3\nsteps = []\n").unwrap_err();
        assert!(err.to_string().contains("daily_cp"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut def = CampaignDef::with_defaults("x");
        def.daily_cap = 0;
        def.score_threshold = 1.5;
        def.mailboxes = vec![
            MailboxDef {
                address: "not-an-address".into(),
                daily_cap: 0,
            },
            MailboxDef {
                address: "a@b.com".into(),
                daily_cap: 5,
            },
            MailboxDef {
                address: "A@B.com".into(),
                daily_cap: 5,
            },
        ];
        def.window.fallback_tz = "Mars/Base".into();
        def.plugins.scorer = Some(" ".into());
        def.steps.truncate(1);
        def.steps.push(StepDef {
            subject: "Re: {{first_name\nx".into(),
            body: "Hi {{}}".into(),
            delay_days: 0,
        });
        assert_eq!(
            problems(&def),
            vec![
                "daily_cap",
                "score_threshold",
                "mailboxes[0].address",
                "mailboxes[0].daily_cap",
                "mailboxes[2].address",
                "plugins.scorer",
                "window",
                "steps[1].subject",
                "steps[1].subject",
                "steps[1].body",
                "steps[1].delay_days",
            ]
        );
        let msg = def.validate().unwrap_err().to_string();
        assert!(msg.contains("step 2 subject") && msg.contains("Mars/Base"), "{msg}");
    }

    #[test]
    fn a_campaign_needs_steps_and_a_name() {
        let mut def = CampaignDef::with_defaults(" ");
        def.steps.clear();
        assert_eq!(problems(&def), vec!["name", "steps"]);
    }

    #[test]
    fn an_inverted_window_is_refused() {
        let mut def = CampaignDef::with_defaults("x");
        std::mem::swap(&mut def.window.start, &mut def.window.end);
        assert_eq!(problems(&def), vec!["window"]);
    }

    #[test]
    fn after_last_step_maps_to_a_lifecycle_ending() {
        assert_eq!(AfterLastStep::Dead.state(), LeadState::Dead);
        assert_eq!(AfterLastStep::Nurture.state(), LeadState::Nurture);
    }
}
