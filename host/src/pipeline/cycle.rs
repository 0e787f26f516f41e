//! One cycle over one campaign: the eleven steps in order, a report stored
//! at the end.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tracing::Instrument as _;

use super::context::CycleContext;
use super::report::{CycleReport, StepReport};
use super::{Clock, Transports};
use super::{alert, classify, decide, discover, enrich, follow_up, inbox, metrics, schedule, score, send};
use crate::domain::model::{Campaign, NewCycleReport};
use crate::plugins::PluginRegistry;
use crate::runtime::Runtime;
use crate::store::Store;

/// The steps, in the order they run.
pub const STEP_NAMES: [&str; 11] = [
    "discover",
    "enrich",
    "score",
    "schedule",
    "send",
    "inbox",
    "classify",
    "follow_up",
    "metrics",
    "decide",
    "alert",
];

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
        let mut ctx = CycleContext::new(
            self.store.clone(),
            self.runtime,
            self.registry,
            started_at,
            campaign,
            transports,
        );
        ctx.shadow = self.shadow.clone();
        let mut steps = Vec::with_capacity(STEP_NAMES.len());
        let mut interrupted = false;
        for name in STEP_NAMES {
            if self.shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                interrupted = true;
                break;
            }
            let timer = Instant::now();
            let mut report = run_step(name, &mut ctx)
                .instrument(tracing::info_span!(parent: &span, "step", step = name))
                .await;
            report.duration_ms = u64::try_from(timer.elapsed().as_millis()).unwrap_or(u64::MAX);
            if report.failed_total > 0 {
                tracing::warn!(parent: &span, step = name, failures = report.failed_total, "step had failures");
            }
            steps.push(report);
        }
        let report = CycleReport {
            tenant: tenant.clone(),
            campaign: ctx.campaign.config.name.clone(),
            campaign_id: ctx.campaign.id,
            started_at,
            finished_at: self.clock.now(),
            dry_run: !ctx.campaign.config.live,
            campaign_status: ctx.campaign.status.as_str().to_string(),
            status_reason: ctx.campaign.status_reason.clone(),
            steps,
            transition_counts: ctx.change_counts,
            state_changes: ctx.changes,
            alerts: ctx.alerts,
            decisions: ctx.decisions,
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

async fn run_step(name: &str, ctx: &mut CycleContext<'_>) -> StepReport {
    match name {
        "discover" => discover::run(ctx).await,
        "enrich" => enrich::run(ctx).await,
        "score" => score::run(ctx).await,
        "schedule" => schedule::run(ctx).await,
        "send" => send::run(ctx).await,
        "inbox" => inbox::run(ctx).await,
        "classify" => classify::run(ctx).await,
        "follow_up" => follow_up::run(ctx).await,
        "metrics" => metrics::run(ctx).await,
        "decide" => decide::run(ctx).await,
        "alert" => alert::run(ctx).await,
        other => StepReport::new(other).failed(other, "no such step"),
    }
}
