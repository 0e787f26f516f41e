//! `cam cycle --campaign NAME`: run one cycle of one campaign and print what
//! it did. Also the setup the other cycle commands share (`cam run`, `cam demo`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::config::Config;
use crate::mail::imap::ImapInbox;
use crate::mail::smtp::SmtpSender;
use crate::pipeline::{Clock, Cycle, FixedClock, LiveMail, SystemClock, Transports};
use crate::plugins::PluginRegistry;
use crate::plugins::Reloader;
use crate::plugins::shadow::ShadowRunner;
use crate::runtime::Runtime;
use crate::store::Store;
use crate::webhook::Webhook;

/// `cam cycle` arguments.
#[derive(Debug, Args)]
pub struct CycleArgs {
    /// The campaign's name.
    #[arg(long)]
    pub campaign: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run the cycle as if it were this instant (RFC 3339), to replay or
    /// test time-dependent behaviour (follow-up delays, send windows).
    #[arg(long, env = "CAM_NOW", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
}

/// Parses an RFC 3339 instant such as `2026-03-03T10:00:00Z`.
pub fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-03-03T10:00:00Z: {e}"))
}

/// The store, the runtime and the loaded plugins of a setup.
pub struct Setup {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The plugin runtime.
    pub runtime: Arc<Runtime>,
    /// The plugins folder, loaded, following the store's active versions
    /// (rollbacks, promotions) and with any shadow candidates installed.
    pub registry: Arc<PluginRegistry>,
    /// Runs shadow candidates beside the active versions.
    pub shadow: Arc<ShadowRunner>,
}

impl Setup {
    /// Opens the database and loads the plugins folder of `config`; plugins
    /// that fail to load are reported on stderr and left out.
    pub async fn open(config: &Config) -> anyhow::Result<Setup> {
        let store = crate::store::open(config.database_url()).await?;
        let runtime = Arc::new(Runtime::new(config.limits).context("starting the plugin runtime")?);
        let registry = Arc::new(PluginRegistry::new());
        if config.plugins_dir.exists() {
            let reloader = Reloader::new(runtime.clone(), registry.clone(), &config.plugins_dir, &config.tenant)
                .with_store(store.clone());
            for failure in reloader.load_all().await? {
                eprintln!("warning: {} did not load: {}", failure.file.display(), failure.error);
            }
        } else {
            eprintln!(
                "note: no plugins folder at {}; campaigns' plugin steps will fail",
                config.plugins_dir.display()
            );
        }
        let shadow = Arc::new(ShadowRunner::new(registry.clone(), &config.plugins_dir));
        Ok(Setup {
            store,
            runtime,
            registry,
            shadow,
        })
    }

    /// The transports of `config`: dry-run (outbox and inbox folders)
    /// always, live SMTP and IMAP when `[mail]` configures them, the alert
    /// channels, and the unsubscribe link key (created on first use).
    pub fn transports(config: &Config, store: &Arc<dyn Store>) -> anyhow::Result<Transports> {
        let links = Arc::new(config.unsubscribe_links()?);
        let mut transports = Transports::dry_run(&config.outbox_dir, &config.inbox_dir, "", links);
        transports.operator_address = config.operator_address();
        if let Some(webhook) = &config.alerts.webhook {
            transports.webhook = Some(Arc::new(Webhook::new(webhook, &config.base_dir)?));
        }
        let mail = &config.mail;
        if !mail.smtp.is_empty() || !mail.imap.is_empty() {
            if mail.smtp.is_empty() {
                anyhow::bail!("cam.toml has [[mail.imap]] but no [[mail.smtp]]: live campaigns need both");
            }
            if mail.imap.is_empty() {
                anyhow::bail!(
                    "cam.toml has [[mail.smtp]] but no [[mail.imap]]: live campaigns need both, \
                     or replies and bounces would never be read"
                );
            }
            transports.live = Some(LiveMail {
                sender: Arc::new(SmtpSender::new(&mail.smtp, &config.base_dir)?),
                inbox: Arc::new(ImapInbox::new(
                    &mail.imap,
                    &config.base_dir,
                    store.clone(),
                    &config.tenant,
                )?),
                tenant: config.tenant.clone(),
            });
        }
        Ok(transports)
    }
}

/// Loads every plugin in `dir` (an absent folder is an empty registry).
pub async fn load_plugins(runtime: &Runtime, dir: &Path, tenant: &str) -> anyhow::Result<PluginRegistry> {
    if !dir.exists() {
        eprintln!(
            "note: no plugins folder at {}; campaigns' plugin steps will fail",
            dir.display()
        );
        return Ok(PluginRegistry::new());
    }
    let (registry, failures) = PluginRegistry::load_dir(runtime, dir, runtime.scope(tenant, None))
        .await
        .with_context(|| format!("cannot read the plugins folder {}", dir.display()))?;
    for failure in failures {
        eprintln!("warning: {} did not load: {}", failure.file.display(), failure.error);
    }
    Ok(registry)
}

/// Runs `cam cycle`.
pub async fn run(config: &Config, args: CycleArgs) -> anyhow::Result<ExitCode> {
    let setup = Setup::open(config).await?;
    let campaign = setup
        .store
        .campaign_by_name(&config.tenant, &args.campaign)
        .await
        .with_context(|| {
            format!(
                "no campaign {:?} for tenant {:?}; see `cam campaigns list`",
                args.campaign, config.tenant
            )
        })?;
    let clock: Box<dyn Clock> = match args.now {
        Some(now) => Box::new(FixedClock(now)),
        None => Box::new(SystemClock),
    };
    let report = Cycle::new(
        setup.store.clone(),
        &setup.runtime,
        &setup.registry,
        clock.as_ref(),
        campaign,
        Setup::transports(config, &setup.store)?,
    )
    .with_shadow(setup.shadow.clone())
    .run()
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(ExitCode::SUCCESS)
}
