//! What a cycle did: one [`StepReport`] per step, gathered in a
//! [`CycleReport`] that is stored, printed as a table, or emitted as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most failures and transitions kept per report: enough to see what went
/// wrong, bounded so a cycle over 100,000 leads does not store megabytes.
pub const MAX_LISTED: usize = 200;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Ran; some items may have failed (see `failures`).
    Ok,
    /// Could not run at all (a plugin missing or quarantined, the store down).
    Failed,
    /// Not run, on purpose (campaign paused, nothing bound).
    Skipped,
}

/// One item that failed inside a step, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    /// What failed: a lead's email, a plugin, a message id.
    pub subject: String,
    /// Why, in words an operator can act on.
    pub reason: String,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's name (`discover`, `enrich`...).
    pub step: String,
    /// How it ended.
    pub status: StepStatus,
    /// Named counts (`inserted`, `sent`, `hard_bounces`...).
    pub counts: BTreeMap<String, u64>,
    /// Items that failed (at most [`MAX_LISTED`]; `failed_total` counts all).
    pub failures: Vec<StepFailure>,
    /// All failures, listed or not.
    pub failed_total: u64,
    /// Plugin versions used, as `name@version`.
    pub plugins: Vec<String>,
    /// Sentences worth showing (why skipped, what was decided).
    pub notes: Vec<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

impl StepReport {
    /// An empty, successful report for `step`.
    pub fn new(step: &str) -> Self {
        Self {
            step: step.to_string(),
            status: StepStatus::Ok,
            counts: BTreeMap::new(),
            failures: Vec::new(),
            failed_total: 0,
            plugins: Vec::new(),
            notes: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Adds `n` to a count.
    pub fn add(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_string()).or_default() += n;
    }

    /// The value of a count (0 when never added).
    pub fn count(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// Records one failed item.
    pub fn fail(&mut self, subject: impl Into<String>, reason: impl Into<String>) {
        self.failed_total += 1;
        if self.failures.len() < MAX_LISTED {
            self.failures.push(StepFailure {
                subject: subject.into(),
                reason: reason.into(),
            });
        }
    }

    /// Marks the whole step failed with a reason.
    pub fn failed(mut self, subject: impl Into<String>, reason: impl Into<String>) -> Self {
        self.fail(subject, reason);
        self.status = StepStatus::Failed;
        self
    }

    /// Marks the step skipped with a reason.
    pub fn skipped(mut self, why: impl Into<String>) -> Self {
        self.status = StepStatus::Skipped;
        self.notes.push(why.into());
        self
    }

    /// Records a plugin version used (once).
    pub fn used(&mut self, plugin: &str, version: &str) {
        let tag = format!("{plugin}@{version}");
        if !self.plugins.contains(&tag) {
            self.plugins.push(tag);
        }
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The counts as `name=n` pairs for one table cell.
    fn counts_text(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        if parts.is_empty() { "-".into() } else { parts.join(" ") }
    }
}

/// A lead that changed state during the cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The lead's email.
    pub email: String,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Why.
    pub reason: String,
    /// The plugin version that caused it, if any.
    pub plugin_version: Option<String>,
}

/// What a whole cycle did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleReport {
    /// The tenant.
    pub tenant: String,
    /// The campaign's name.
    pub campaign: String,
    /// The campaign's id.
    pub campaign_id: i64,
    /// The cycle clock at the start.
    pub started_at: DateTime<Utc>,
    /// The cycle clock at the end (the same clock; a fixed clock gives equal times).
    pub finished_at: DateTime<Utc>,
    /// Whether mail went to the dry-run outbox.
    pub dry_run: bool,
    /// The campaign's status after the cycle, with its reason.
    pub campaign_status: String,
    /// Why the campaign has that status.
    pub status_reason: String,
    /// Steps in order.
    pub steps: Vec<StepReport>,
    /// Counts of transitions by `FROM→TO`.
    pub transition_counts: BTreeMap<String, u64>,
    /// State changes (at most [`MAX_LISTED`]).
    pub state_changes: Vec<StateChange>,
    /// Alerts raised (one line each).
    pub alerts: Vec<String>,
    /// Decisions applied (one line each, with reasons).
    pub decisions: Vec<String>,
    /// Whether the cycle stopped early because of a shutdown request.
    pub interrupted: bool,
}

impl CycleReport {
    /// One line for lists.
    pub fn summary(&self) -> String {
        let count = |step: &str, name: &str| {
            self.steps
                .iter()
                .find(|s| s.step == step)
                .map(|s| s.count(name))
                .unwrap_or(0)
        };
        let failed = self.steps.iter().filter(|s| s.status == StepStatus::Failed).count();
        format!(
            "{}: {} discovered, {} queued, {} sent, {} replies, {} alerts{}",
            self.campaign,
            count("discover", "inserted"),
            count("schedule", "queued"),
            count("send", "sent"),
            count("inbox", "stored"),
            self.alerts.len(),
            if failed > 0 {
                format!(", {failed} steps failed")
            } else {
                String::new()
            }
        )
    }

    /// The step named `step`.
    pub fn step(&self, step: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.step == step)
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "cycle for campaign {:?} (tenant {}) at {} — {}",
            self.campaign,
            self.tenant,
            self.started_at.format("%Y-%m-%d %H:%M UTC"),
            if self.dry_run { "dry run" } else { "live" }
        );
        let _ = writeln!(out, "  {:<10} {:<8} {:>6}  counts", "step", "status", "ms");
        for step in &self.steps {
            let status = match step.status {
                StepStatus::Ok if step.failed_total > 0 => "partial",
                StepStatus::Ok => "ok",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "skipped",
            };
            let _ = writeln!(
                out,
                "  {:<10} {:<8} {:>6}  {}",
                step.step,
                status,
                step.duration_ms,
                step.counts_text()
            );
            for failure in step.failures.iter().take(5) {
                let _ = writeln!(out, "  {:<10}   ! {}: {}", "", failure.subject, failure.reason);
            }
            if step.failed_total > 5 {
                let _ = writeln!(out, "  {:<10}   ! ... {} more failures", "", step.failed_total - 5);
            }
            for note in &step.notes {
                let _ = writeln!(out, "  {:<10}   · {note}", "");
            }
        }
        if !self.transition_counts.is_empty() {
            let parts: Vec<String> = self.transition_counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(out, "  lead state changes: {}", parts.join(", "));
        }
        for alert in &self.alerts {
            let _ = writeln!(out, "  alert: {alert}");
        }
        for decision in &self.decisions {
            let _ = writeln!(out, "  decision: {decision}");
        }
        let _ = writeln!(out, "  campaign is {} ({})", self.campaign_status, self.status_reason);
        if self.interrupted {
            let _ = writeln!(
                out,
                "  interrupted by a shutdown request; the remaining steps run next cycle"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> CycleReport {
        let mut send = StepReport::new("send");
        send.add("sent", 3);
        for i in 0..7 {
            send.fail(format!("lead{i}@x.example"), "mailbox refused");
        }
        CycleReport {
            tenant: "t".into(),
            campaign: "c".into(),
            campaign_id: 1,
            started_at: DateTime::UNIX_EPOCH,
            finished_at: DateTime::UNIX_EPOCH,
            dry_run: true,
            campaign_status: "PAUSED".into(),
            status_reason: "bounce rate 3% > 2%".into(),
            steps: vec![StepReport::new("discover").skipped("no lead source bound"), send],
            transition_counts: BTreeMap::new(),
            state_changes: vec![],
            alerts: vec![],
            decisions: vec!["paused the campaign: bounce rate 3% > 2%".into()],
            interrupted: false,
        }
    }

    #[test]
    fn the_table_shows_partial_steps_a_few_failures_and_why_the_campaign_is_paused() {
        let table = report().to_table();
        assert!(table.contains("send       partial"), "{table}");
        assert!(table.contains("! lead0@x.example: mailbox refused"), "{table}");
        assert!(table.contains("... 2 more failures"), "{table}");
        assert!(table.contains("· no lead source bound"), "{table}");
        assert!(table.contains("campaign is PAUSED (bounce rate 3% > 2%)"), "{table}");
    }

    #[test]
    fn failures_beyond_the_listing_cap_are_counted_not_listed() {
        let mut step = StepReport::new("enrich");
        for _ in 0..(MAX_LISTED + 10) {
            step.fail("x", "y");
        }
        assert_eq!(step.failures.len(), MAX_LISTED);
        assert_eq!(step.failed_total, (MAX_LISTED + 10) as u64);
    }

    #[test]
    fn the_summary_names_sends_and_alerts() {
        assert_eq!(
            report().summary(),
            "c: 0 discovered, 0 queued, 3 sent, 0 replies, 0 alerts"
        );
    }
}
