//! `cam run`: the worker loop until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::sync::watch;

use crate::app::{App, TenantPool};
use crate::config::Config;
use crate::pipeline::{Clock, CycleReport, FixedClock, SystemClock};
use crate::worker::{Serving, Worker, WorkerObserver, WorkerOptions};

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
    /// Hosted: run every tenant's RUNNING campaigns, each with its own
    /// tenant's settings, plugins and ceilings from the database (needs the
    /// server key file). Without it only the config's tenant is served.
    #[arg(long)]
    pub all_tenants: bool,
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
    let app = App::open(config.clone()).await?;
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
    let cycles = if args.all_tenants {
        // Fail now, not at the first hosted campaign, when the key is missing.
        crate::tenancy::server_keys(config)?;
        let pool = TenantPool::new(&app, true);
        println!("serving every tenant's campaigns");
        let worker = Worker {
            app: &app,
            serving: Serving::Every(&pool),
            clock: clock.as_ref(),
            options,
        };
        worker.run(shutdown, &Printer).await?
    } else {
        let tenant = app.tenant_app(&config.tenant, true).await?;
        let worker = Worker {
            app: &app,
            serving: Serving::One(&tenant),
            clock: clock.as_ref(),
            options,
        };
        worker.run(shutdown, &Printer).await?
    };
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
