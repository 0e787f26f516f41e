//! A campaign's configuration turned into what a cycle runs on: the
//! sequence's templates parsed, the send window validated, the ending state.
//! Built once per cycle; a part that does not parse is kept as its error, so
//! the steps that need it fail with the reason and the others still run.

use chrono::{TimeDelta, WeekdaySet};

use super::lifecycle::LeadState;
use super::model::NewCampaign;
use super::template::{Template, TemplateError};
use super::window::{SendWindow, WindowError};

/// One sequence step with its templates parsed.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Subject template.
    pub subject: Template,
    /// Body template.
    pub body: Template,
}

/// Why a campaign's send window is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanWindowError {
    /// The fallback zone is not an IANA name.
    #[error("unknown fallback time zone {0:?}; use an IANA name such as \"Europe/Berlin\"")]
    UnknownZone(String),
    /// The window itself is invalid.
    #[error(transparent)]
    Window(#[from] WindowError),
}

/// What a cycle runs a campaign by.
#[derive(Debug, Clone)]
pub struct CampaignPlan {
    /// The sequence, or why a template does not parse.
    pub sequence: Result<Vec<PlannedStep>, TemplateError>,
    /// The send window, or why it is unusable.
    pub window: Result<SendWindow, PlanWindowError>,
    /// Wait before each step (after the previous one), by step index.
    delays: Vec<TimeDelta>,
    /// Where leads go after the last step without a reply.
    pub after_last_step: LeadState,
}

impl CampaignPlan {
    /// The plan of `config`.
    pub fn of(config: &NewCampaign) -> Self {
        let sequence = config
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                Ok(PlannedStep {
                    subject: Template::parse(&format!("step {} subject", i + 1), &step.subject)?,
                    body: Template::parse(&format!("step {} body", i + 1), &step.body)?,
                })
            })
            .collect();
        Self {
            sequence,
            window: window(config),
            delays: config
                .steps
                .iter()
                .map(|s| TimeDelta::hours(i64::from(s.delay_hours)))
                .collect(),
            after_last_step: config.after_last_step.state(),
        }
    }

    /// How many steps the sequence has (whether or not its templates parse).
    pub fn step_count(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX)
    }

    /// The wait before step `index` (0-based), `None` past the last step.
    pub fn delay(&self, index: u32) -> Option<TimeDelta> {
        self.delays.get(index as usize).copied()
    }
}

fn window(config: &NewCampaign) -> Result<SendWindow, PlanWindowError> {
    let window = &config.send_window;
    let tz: chrono_tz::Tz = window
        .fallback_time_zone
        .trim()
        .parse()
        .map_err(|_| PlanWindowError::UnknownZone(window.fallback_time_zone.clone()))?;
    let days = if window.weekdays.is_empty() {
        WeekdaySet::ALL
    } else {
        window.weekdays.iter().fold(WeekdaySet::EMPTY, |mut set, &day| {
            set.insert(day);
            set
        })
    };
    Ok(SendWindow::new(window.start, window.end, days, tz)?)
}
