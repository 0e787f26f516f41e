//! The worker loop: claim a RUNNING campaign's lease, run its cycle while a
//! heartbeat keeps the lease alive, release it, move on; sleep between
//! rounds; on shutdown finish the step in progress, release, return.
//!
//! Leases are per (tenant, campaign) in the store, so two workers never run
//! the same campaign at once; a worker that dies stops renewing, and its
//! lease lapses after [`WorkerOptions::lease_ttl`] so another can take over.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::{App, TenantApp, TenantPool};
use crate::pipeline::{Clock, CycleReport};
use crate::store::Claimable;

/// How long a lease lasts without a heartbeat: long enough to ride out a
/// slow database round trip, short enough that a dead worker's campaigns
/// are picked up within a minute.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// This worker's id in leases (host name and process id by default).
    pub worker_id: String,
    /// Pause between rounds over the campaigns.
    pub interval: Duration,
    /// Lease lifetime; heartbeats renew it every third of it.
    pub lease_ttl: Duration,
    /// Stop after one round (tests, cron).
    pub once: bool,
}

impl WorkerOptions {
    /// Defaults with `interval` between rounds.
    pub fn new(interval: Duration) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        Self {
            worker_id: format!("{host}:{}", std::process::id()),
            interval,
            lease_ttl: DEFAULT_LEASE_TTL,
            once: false,
        }
    }
}

/// What the worker reports per event, for the CLI to print.
pub trait WorkerObserver: Send + Sync {
    /// A cycle finished.
    fn cycle_done(&self, report: &CycleReport);
    /// A round found no free campaign; `next_check` is `None` when the
    /// worker stops now (`once`).
    fn idle(&self, next_check: Option<Duration>);
    /// Something went wrong with one campaign; the loop goes on.
    fn error(&self, message: &str);
}

/// Whose campaigns a worker runs.
pub enum Serving<'a> {
    /// One tenant's (the config file's, `cam run`): the campaigns run with
    /// what it was built with.
    One(&'a TenantApp),
    /// Every tenant's (`cam run --all-tenants`, hosted): each campaign runs
    /// with its own tenant's settings, plugins and ceilings.
    Every(&'a TenantPool<'a>),
}

/// The loop over campaigns.
pub struct Worker<'a> {
    /// The application: store and plugin runtime.
    pub app: &'a App,
    /// Whose campaigns it claims, and what each runs with.
    pub serving: Serving<'a>,
    /// The clock cycles run on.
    pub clock: &'a dyn Clock,
    /// Options.
    pub options: WorkerOptions,
}

impl Worker<'_> {
    /// Runs rounds until `shutdown` turns true (or after one round with
    /// `once`). Returns how many cycles ran.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, observer: &dyn WorkerObserver) -> anyhow::Result<u64> {
        let mut cycles = 0;
        loop {
            // Each campaign gets one cycle per round: a claim takes only
            // campaigns not leased since the round began; tenants take turns.
            let which = match &self.serving {
                Serving::One(tenant) => Claimable::of_tenant(&tenant.tenant),
                Serving::Every(_) => Claimable::any_tenant(),
            };
            let mut ran_this_round = 0;
            while !*shutdown.borrow() {
                let lease = match self
                    .app
                    .store()
                    .claim_next_campaign(&self.options.worker_id, self.options.lease_ttl, which)
                    .await
                {
                    Ok(Some(lease)) => lease,
                    Ok(None) => break,
                    Err(e) => {
                        observer.error(&format!("cannot claim a campaign: {e}"));
                        break;
                    }
                };
                ran_this_round += 1;
                match self.cycle(&lease.tenant_id, lease.campaign_id, shutdown.clone()).await {
                    Ok(report) => {
                        cycles += 1;
                        observer.cycle_done(&report);
                    }
                    Err(e) => observer.error(&format!("campaign {} of {}: {e:#}", lease.campaign_id, lease.tenant_id)),
                }
                if let Err(e) = self
                    .app
                    .store()
                    .release_lease(&lease.tenant_id, lease.campaign_id, &self.options.worker_id)
                    .await
                {
                    observer.error(&format!(
                        "cannot release the lease of campaign {}: {e}",
                        lease.campaign_id
                    ));
                }
            }
            if ran_this_round == 0 && !*shutdown.borrow() {
                observer.idle((!self.options.once).then_some(self.options.interval));
            }
            if self.options.once || *shutdown.borrow() {
                return Ok(cycles);
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return Ok(cycles);
            }
        }
    }

    /// One cycle of a campaign whose lease this worker holds (taken with
    /// [`Leases::try_acquire_lease`](crate::store::Leases::try_acquire_lease)
    /// under [`WorkerOptions::worker_id`]), with a heartbeat renewing the
    /// lease meanwhile. The caller releases the lease.
    pub async fn run_leased(
        &self,
        tenant: &str,
        campaign_id: i64,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<CycleReport> {
        self.cycle(tenant, campaign_id, shutdown).await
    }

    /// One cycle with a heartbeat renewing the lease meanwhile.
    async fn cycle(
        &self,
        tenant: &str,
        campaign_id: i64,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<CycleReport> {
        let campaign = self.app.store().get_campaign(tenant, campaign_id).await?;
        // Everything the cycle touches comes from the campaign's tenant.
        let pooled;
        let tenant_app = match &self.serving {
            Serving::One(app) => *app,
            Serving::Every(pool) => {
                pooled = pool
                    .get(tenant)
                    .await
                    .map_err(|e| anyhow::anyhow!("opening tenant {tenant}: {e:#}"))?;
                pooled.as_ref()
            }
        };
        // The cycle stops between steps on shutdown or when the lease is
        // lost (another worker took it over after a stall): two workers
        // must never run the same campaign's steps at once.
        let (stop, stop_cycle) = watch::channel(*shutdown.borrow());
        let stop = Arc::new(stop);
        let forward = {
            let (stop, mut shutdown) = (stop.clone(), shutdown);
            tokio::spawn(async move {
                while shutdown.changed().await.is_ok() {
                    if *shutdown.borrow() {
                        let _ = stop.send(true);
                    }
                }
            })
        };
        let heartbeat = {
            let store = self.app.store().clone();
            let stop = stop.clone();
            let (tenant, worker, ttl) = (
                tenant.to_string(),
                self.options.worker_id.clone(),
                self.options.lease_ttl,
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(ttl / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match store.renew_lease(&tenant, campaign_id, &worker, ttl).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!(
                                campaign_id,
                                "lost the lease (another worker took it over); stopping this cycle"
                            );
                            let _ = stop.send(true);
                            break;
                        }
                        Err(e) => tracing::warn!(campaign_id, error = %e, "heartbeat failed; retrying"),
                    }
                }
            })
        };
        let result = self
            .app
            .cycle(tenant_app, self.clock, campaign)
            .with_shutdown(stop_cycle)
            .run()
            .await;
        heartbeat.abort();
        forward.abort();
        // The fleet's view of each version's health, for the API.
        let reports = tenant_app.health_reports(&self.options.worker_id);
        if let Err(e) = self.app.store().report_plugin_health(tenant, &reports).await {
            tracing::warn!(tenant, "cannot record plugin health: {e}");
        }
        result
    }
}
