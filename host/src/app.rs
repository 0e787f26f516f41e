//! The application, built once from configuration: the store and the plugin
//! runtime ([`App`]), and per tenant what its cycles run with — its plugins,
//! its shadow candidates, its mail transports and alert channels
//! ([`TenantApp`]). The CLI commands, the worker, the server and the demo
//! all start from here; nothing else wires these parts together.
//!
//! In the embedded default one tenant, the config file's, is served: its
//! plugins come from the plugins folder and its mailboxes and alert channels
//! from `cam.toml`.

use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Config;
use crate::domain::model::Campaign;
use crate::mail::imap::ImapInbox;
use crate::mail::smtp::SmtpSender;
use crate::pipeline::{Clock, Cycle, LiveMail, Transports};
use crate::plugins::registry::LoadFailure;
use crate::plugins::shadow::ShadowRunner;
use crate::plugins::{PluginRegistry, Reloader, fleet, watch};
use crate::runtime::Runtime;
use crate::store::{Backend, Store, backend_of};
use crate::webhook::Webhook;

/// The process-wide parts: configuration, store, plugin runtime (started
/// on first use: commands that only read the store never start an engine).
pub struct App {
    config: Config,
    store: Arc<dyn Store>,
    runtime: std::sync::OnceLock<Arc<Runtime>>,
}

/// What one tenant's cycles run with.
pub struct TenantApp {
    /// The tenant.
    pub tenant: String,
    /// The plugin runtime its calls run in (compiled code is shared; every
    /// call's store, kv, limits and logs are the tenant's).
    pub runtime: Arc<Runtime>,
    /// Its active plugin versions.
    pub registry: Arc<PluginRegistry>,
    /// Its shadow candidates, run beside the active versions.
    pub shadow: Arc<ShadowRunner>,
    /// Its mail transports and alert channels.
    pub transports: Transports,
    /// Plugins that did not load when it was opened.
    pub load_failures: Vec<LoadFailure>,
    /// Keeps the plugins folder watched and the fleet followed (`cam run`).
    _following: Option<Following>,
}

/// The watchers that keep a tenant's plugins current while they live.
struct Following {
    _watch: watch::WatchHandle,
    _fleet: Option<fleet::FleetListener>,
}

impl App {
    /// Opens the database (migrating it).
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let store = crate::store::open(config.database_url()).await?;
        Ok(App {
            config,
            store,
            runtime: std::sync::OnceLock::new(),
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The plugin runtime, started on the first call.
    pub fn runtime(&self) -> anyhow::Result<&Arc<Runtime>> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = Arc::new(Runtime::new(self.config.limits).context("starting the plugin runtime")?);
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// The config's tenant, its plugins loaded once from the plugins folder
    /// (following the store's active versions: rollbacks, promotions) — for
    /// one-shot commands.
    pub async fn tenant(&self) -> anyhow::Result<TenantApp> {
        let config = &self.config;
        let registry = Arc::new(PluginRegistry::new());
        let mut load_failures = Vec::new();
        if config.plugins_dir.exists() {
            let reloader = Reloader::new(
                self.runtime()?.clone(),
                registry.clone(),
                &config.plugins_dir,
                &config.tenant,
            )
            .with_store(self.store.clone());
            load_failures = reloader.load_all().await?;
        }
        self.tenant_with(registry, load_failures, None)
    }

    /// The config's tenant with its plugins folder watched (a changed
    /// `.wasm` is validated and swapped in) and, on PostgreSQL, the fleet's
    /// uploads followed through LISTEN/NOTIFY — for `cam run`.
    pub async fn following_tenant(&self) -> anyhow::Result<TenantApp> {
        let config = &self.config;
        std::fs::create_dir_all(&config.plugins_dir)
            .with_context(|| format!("creating the plugins folder {}", config.plugins_dir.display()))?;
        let (reloader, watching) = watch::start(
            self.runtime()?.clone(),
            &config.plugins_dir,
            &config.tenant,
            Some(self.store.clone()),
        )
        .await?;
        let fleet = match backend_of(config.database_url())? {
            Backend::Postgres => Some(fleet::listen(config.database_url(), &config.tenant, reloader.clone()).await?),
            Backend::Sqlite => None,
        };
        let registry = reloader.registry().clone();
        self.tenant_with(
            registry,
            Vec::new(),
            Some(Following {
                _watch: watching,
                _fleet: fleet,
            }),
        )
    }

    fn tenant_with(
        &self,
        registry: Arc<PluginRegistry>,
        load_failures: Vec<LoadFailure>,
        following: Option<Following>,
    ) -> anyhow::Result<TenantApp> {
        Ok(TenantApp {
            tenant: self.config.tenant.clone(),
            runtime: self.runtime()?.clone(),
            shadow: Arc::new(ShadowRunner::new(registry.clone(), &self.config.plugins_dir)),
            registry,
            transports: transports(&self.config, &self.store)?,
            load_failures,
            _following: following,
        })
    }

    /// One cycle of `campaign` (of `tenant`) on `clock`, with the tenant's
    /// plugins, shadow candidates and transports.
    pub fn cycle<'a>(&'a self, tenant: &'a TenantApp, clock: &'a dyn Clock, campaign: Campaign) -> Cycle<'a> {
        Cycle::new(
            self.store.clone(),
            &tenant.runtime,
            &tenant.registry,
            clock,
            campaign,
            tenant.transports.clone(),
        )
        .with_shadow(tenant.shadow.clone())
    }
}

/// The transports of `config`: dry-run (outbox and inbox folders) always,
/// live SMTP and IMAP when `[mail]` configures them, the alert channels, and
/// the unsubscribe link key (created on first use).
fn transports(config: &Config, store: &Arc<dyn Store>) -> anyhow::Result<Transports> {
    let links = Arc::new(crate::mail::unsubscribe::UnsubscribeLinks::for_config(config)?);
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
