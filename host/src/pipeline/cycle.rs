//! One cycle over one campaign: the eleven steps in order, a report stored
//! at the end.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tracing::Instrument as _;

use super::env::CycleEnv;
use super::report::{CycleReport, StepReport};
use super::step::{Moves, Step, StepOutcome};
use super::{Clock, Transports};
use super::{alert, classify, decide, discover, enrich, follow_up, inbox, metrics, schedule, score, send};
use crate::domain::model::{Campaign, NewCycleReport};
use crate::plugins::PluginRegistry;
use crate::runtime::Runtime;
use crate::store::Store;

/// Everything one cycle needs; [`Cycle::run`] runs it.
pub struct Cycle<'a> {
    store: Arc<dyn Store>,
    runtime: &'a Runtime,
    registry: &'a PluginRegistry,
    clock: &'a dyn Clock,
    campaign: Campaign,
    transports: Transports,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    shadow: Option<std::sync::Arc<crate::plugins::shadow::ShadowRunner>>,
}

impl<'a> Cycle<'a> {
    /// A cycle of `campaign` (its tenant is the campaign's).
    pub fn new(
        store: Arc<dyn Store>,
        runtime: &'a Runtime,
        registry: &'a PluginRegistry,
        clock: &'a dyn Clock,
        campaign: Campaign,
        transports: Transports,
    ) -> Self {
        Self {
            store,
            runtime,
            registry,
            clock,
            campaign,
            transports,
            shutdown: None,
            shadow: None,
        }
    }

    /// Stops between steps once `shutdown` turns true: the step in progress
    /// finishes, the rest are left for the next cycle.
    pub fn with_shutdown(mut self, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// Runs shadow candidates (`cam plugins shadow`) on the same inputs as
    /// the active versions; their outputs are recorded, never applied.
    pub fn with_shadow(mut self, shadow: std::sync::Arc<crate::plugins::shadow::ShadowRunner>) -> Self {
        self.shadow = Some(shadow);
        self
    }

    /// Runs every step, stores the report, and returns it.
    pub async fn run(self) -> anyhow::Result<CycleReport> {
        let tenant = self.campaign.tenant_id.clone();
        // Re-read the campaign so the status and configuration are current.
        let campaign = self
            .store
            .get_campaign(&tenant, self.campaign.id)
            .await
            .with_context(|| format!("cannot load campaign {:?}", self.campaign.config.name))?;
        let span = tracing::info_span!("cycle", tenant = %tenant, campaign = %campaign.config.name);
        let transports = self.transports.for_campaign(&campaign)?;
        let started_at = self.clock.now();
        let mut env = CycleEnv::new(
            self.store.clone(),
            self.runtime,
            self.registry,
            started_at,
            campaign,
            transports,
        );
        env.shadow = self.shadow.clone();
        let mut run = StepRunner {
            span: &span,
            not_running: (!env.running()).then(|| env.not_running_note()),
            shutdown: self.shutdown.clone(),
            steps: Vec::with_capacity(Step::ALL.len()),
            moves: Moves::default(),
            interrupted: false,
        };
        // The data flow between steps, explicit: each step's output is the
        // next consumer's input; everything else a step reads from the store.
        let env = &env;
        run.step(Step::Discover, discover::run(env)).await;
        run.step(Step::Enrich, enrich::run(env)).await;
        run.step(Step::Score, score::run(env)).await;
        run.step(Step::Schedule, schedule::run(env)).await;
        run.step(Step::Send, send::run(env)).await;
        run.step(Step::Inbox, inbox::run(env)).await;
        let positive = run.step(Step::Classify, classify::run(env)).await;
        run.step(Step::FollowUp, follow_up::run(env)).await;
        let metrics = run.step(Step::Metrics, metrics::run(env)).await.flatten();
        let decided = run
            .step(Step::Decide, decide::run(env, metrics.as_ref()))
            .await
            .unwrap_or_default();
        let alerts = run
            .step(Step::Alert, alert::run(env, positive.unwrap_or_default()))
            .await
            .unwrap_or_default();
        let campaign = decided.campaign.unwrap_or_else(|| env.campaign.clone());
        let StepRunner {
            steps,
            moves,
            interrupted,
            ..
        } = run;
        let report = CycleReport {
            tenant: tenant.clone(),
            campaign: campaign.config.name.clone(),
            campaign_id: campaign.id,
            started_at,
            finished_at: self.clock.now(),
            dry_run: !campaign.config.live,
            campaign_status: campaign.status.as_str().to_string(),
            status_reason: campaign.status_reason.clone(),
            steps,
            transition_counts: moves.counts,
            state_changes: moves.listed,
            alerts: decided.alerts.into_iter().chain(alerts).collect(),
            decisions: decided.decisions,
            interrupted,
        };
        let record = NewCycleReport {
            campaign_id: Some(report.campaign_id),
            started_at: report.started_at,
            finished_at: report.finished_at,
            summary: report.summary(),
            report: serde_json::to_value(&report).context("serializing the cycle report")?,
        };
        self.store
            .insert_cycle_report(&tenant, &record)
            .await
            .context("storing the cycle report")?;
        Ok(report)
    }
}

/// Runs the steps in turn: stops before a step once shutdown is asked for,
/// times each one, and gathers the reports and the lead moves.
struct StepRunner<'s> {
    span: &'s tracing::Span,
    /// Why outreach steps are skipped, when the campaign is not RUNNING.
    not_running: Option<String>,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    steps: Vec<StepReport>,
    moves: Moves,
    interrupted: bool,
}

impl StepRunner<'_> {
    /// Runs `step` (the future `work`, not yet started) unless the cycle was
    /// stopped, or the step reaches out to leads and the campaign is not
    /// RUNNING (then its report says why); `None` when it did not run.
    async fn step<T>(&mut self, step: Step, work: impl Future<Output = StepOutcome<T>>) -> Option<T> {
        if self.interrupted || self.shutdown.as_ref().is_some_and(|s| *s.borrow()) {
            self.interrupted = true;
            return None;
        }
        if let Some(note) = self.not_running.as_ref().filter(|_| step.is_outreach()) {
            self.steps.push(step.report().skipped(note.clone()));
            return None;
        }
        let timer = Instant::now();
        let outcome = work
            .instrument(tracing::info_span!(parent: self.span, "step", step = step.name()))
            .await;
        let mut report = outcome.report;
        report.duration_ms = u64::try_from(timer.elapsed().as_millis()).unwrap_or(u64::MAX);
        if report.failed_total > 0 {
            tracing::warn!(parent: self.span, step = step.name(), failures = report.failed_total, "step had failures");
        }
        self.steps.push(report);
        self.moves.merge(outcome.moves);
        Some(outcome.output)
    }
}
