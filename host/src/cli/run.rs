//! `cam run`: the worker loop until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::sync::watch;

use std::sync::Arc;

use anyhow::Context as _;

use super::cycle::Setup;
use crate::config::Config;
use crate::pipeline::{Clock, CycleReport, FixedClock, SystemClock};
use crate::plugins::{fleet, watch as plugin_watch};
use crate::runtime::Runtime;
use crate::store::{Backend, backend_of};
use crate::worker::{Worker, WorkerObserver, WorkerOptions};

/// `cam run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Seconds between rounds over the RUNNING campaigns.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
    /// Run one round and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds a lease lasts without a heartbeat (another worker takes a
    /// dead worker's campaigns over after this).
    #[arg(long, default_value_t = crate::worker::DEFAULT_LEASE_TTL.as_secs())]
    pub lease_ttl: u64,
    /// This worker's id in leases (default: host name and process id).
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Run every cycle as if it were this instant (RFC 3339); for tests and
    /// replays only.
    #[arg(long, env = "CAM_NOW", value_parser = super::cycle::parse_now)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

struct Printer;

impl WorkerObserver for Printer {
    fn cycle_done(&self, report: &CycleReport) {
        println!("{}", report.summary());
    }

    fn idle(&self, next_check: Option<Duration>) {
        let next = match next_check {
            Some(interval) => format!("checking again in {}s", interval.as_secs()),
            None => "stopping (--once)".to_string(),
        };
        println!("no campaign to work on: none is RUNNING, or other workers hold their leases; {next}");
    }

    fn error(&self, message: &str) {
        eprintln!("error: {message}");
    }
}

/// Runs `cam run`. The plugins folder is watched while the worker runs: a
/// new or changed `.wasm` is validated and swapped in between calls, and
/// rollbacks/promotions made with `cam plugins` are followed. On PostgreSQL
/// the worker also listens for versions uploaded to the database by any
/// machine of the fleet.
pub async fn run(config: &Config, args: RunArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(config.database_url()).await?;
    let runtime = Arc::new(Runtime::new(config.limits).context("starting the plugin runtime")?);
    std::fs::create_dir_all(&config.plugins_dir)
        .with_context(|| format!("creating the plugins folder {}", config.plugins_dir.display()))?;
    let (reloader, _watching) = plugin_watch::start(
        runtime.clone(),
        &config.plugins_dir,
        &config.tenant,
        Some(store.clone()),
    )
    .await?;
    let _fleet = match backend_of(config.database_url())? {
        Backend::Postgres => Some(fleet::listen(config.database_url(), &config.tenant, reloader.clone()).await?),
        Backend::Sqlite => None,
    };
    let registry = reloader.registry().clone();
    let mut options = WorkerOptions::new(Duration::from_secs(args.interval.max(1)));
    options.once = args.once;
    options.lease_ttl = Duration::from_secs(args.lease_ttl.max(1));
    if let Some(id) = args.worker_id {
        options.worker_id = id;
    }
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("shutting down: finishing the step in progress, then releasing leases");
        let _ = stop.send(true);
    });
    println!("worker {} started; Ctrl-C stops it cleanly", options.worker_id);
    let clock: Box<dyn Clock> = match args.now {
        Some(now) => Box::new(FixedClock(now)),
        None => Box::new(SystemClock),
    };
    let transports = Setup::transports(config, &store)?;
    let worker = Worker {
        store,
        runtime: &runtime,
        registry: &registry,
        clock: clock.as_ref(),
        transports,
        options,
        shadow: Some(Arc::new(crate::plugins::shadow::ShadowRunner::new(
            registry.clone(),
            &config.plugins_dir,
        ))),
    };
    let cycles = worker.run(shutdown, &Printer).await?;
    println!("worker stopped after {cycles} cycles");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
