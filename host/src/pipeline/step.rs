//! The steps of a cycle as a type, and what each returns: its report, the
//! lead moves it made, and a typed output that later steps take as input.

use std::collections::BTreeMap;

use super::report::{MAX_LISTED, StateChange, StepReport};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::Lead;

/// One step of the cycle. [`Step::ALL`] is the order they run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Call the lead sources; insert NEW leads.
    Discover,
    /// Enrichers in batches; NEW → ENRICHED.
    Enrich,
    /// The scorer in batches.
    Score,
    /// Queue the emails due, inside caps and send windows.
    Schedule,
    /// Send the queued emails.
    Send,
    /// Read the inbox; store and match replies.
    Inbox,
    /// Recognise bounces and auto-replies, classify the rest, act on labels.
    Classify,
    /// Move leads whose sequence ended without a reply.
    FollowUp,
    /// The campaign's numbers.
    Metrics,
    /// Decision rules on the metrics.
    Decide,
    /// Alert a human about positive replies.
    Alert,
}

impl Step {
    /// Every step, in the order a cycle runs them.
    pub const ALL: [Step; 11] = [
        Step::Discover,
        Step::Enrich,
        Step::Score,
        Step::Schedule,
        Step::Send,
        Step::Inbox,
        Step::Classify,
        Step::FollowUp,
        Step::Metrics,
        Step::Decide,
        Step::Alert,
    ];

    /// The step's name in reports and logs.
    pub fn name(self) -> &'static str {
        match self {
            Step::Discover => "discover",
            Step::Enrich => "enrich",
            Step::Score => "score",
            Step::Schedule => "schedule",
            Step::Send => "send",
            Step::Inbox => "inbox",
            Step::Classify => "classify",
            Step::FollowUp => "follow_up",
            Step::Metrics => "metrics",
            Step::Decide => "decide",
            Step::Alert => "alert",
        }
    }

    /// Whether the step reaches out to leads (finds, prepares or schedules
    /// them): the cycle skips these while the campaign is not RUNNING.
    /// (`send` is not one: it still recovers interrupted sends first.)
    pub fn is_outreach(self) -> bool {
        matches!(
            self,
            Step::Discover | Step::Enrich | Step::Score | Step::Schedule | Step::FollowUp
        )
    }

    /// An empty, successful report for this step.
    pub fn report(self) -> StepReport {
        StepReport::new(self.name())
    }
}

/// The lead moves one step made (or a whole cycle, merged): counts by
/// `FROM→TO`, and the first [`MAX_LISTED`] moves in full.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moves {
    /// Counts of moves by `FROM→TO`.
    pub counts: BTreeMap<String, u64>,
    /// The moves, up to [`MAX_LISTED`].
    pub listed: Vec<StateChange>,
}

impl Moves {
    /// Counts (and lists, up to the report's limit) a move of `lead` to `to`
    /// that the store has recorded.
    pub fn record(&mut self, lead: &Lead, to: LeadState, reason: &str, plugin_version: Option<String>) {
        *self
            .counts
            .entry(format!("{}→{}", lead.state.as_str(), to.as_str()))
            .or_default() += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(StateChange {
                email: lead.fields.email.clone(),
                from: lead.state.as_str().to_string(),
                to: to.as_str().to_string(),
                reason: reason.to_string(),
                plugin_version,
            });
        }
    }

    /// Adds another step's moves to these.
    pub fn merge(&mut self, other: Moves) {
        for (key, n) in other.counts {
            *self.counts.entry(key).or_default() += n;
        }
        let room = MAX_LISTED.saturating_sub(self.listed.len());
        self.listed.extend(other.listed.into_iter().take(room));
    }
}

/// What a step returns.
#[derive(Debug)]
pub struct StepOutcome<T = ()> {
    /// What it did, for the cycle report.
    pub report: StepReport,
    /// The lead moves it made.
    pub moves: Moves,
    /// What later steps take from it.
    pub output: T,
}

impl StepOutcome {
    /// The outcome of a step without output that moves leads: `work` gets
    /// the step's moves journal and returns its report.
    pub async fn moving(work: impl AsyncFnOnce(&mut Moves) -> StepReport) -> Self {
        let mut moves = Moves::default();
        let report = work(&mut moves).await;
        StepOutcome {
            report,
            moves,
            output: (),
        }
    }
}

impl<T: Default> From<StepReport> for StepOutcome<T> {
    /// A step that moved no lead and has nothing for later steps (skipped,
    /// failed, or a step without output).
    fn from(report: StepReport) -> Self {
        StepOutcome {
            report,
            moves: Moves::default(),
            output: T::default(),
        }
    }
}
