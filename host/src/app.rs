//! The application, built once from configuration: the store and the plugin
//! runtime ([`App`]), and per tenant what its cycles run with — its plugins,
//! its shadow candidates, its mail transports and alert channels
//! ([`TenantApp`]). The CLI commands, the worker, the server and the demo
//! all start from here; nothing else wires these parts together.
//!
//! In the embedded default one tenant, the config file's, is served: its
//! plugins come from the plugins folder and its mailboxes and alert channels
//! from `cam.toml`. A hosted tenant (one with settings in the database) is
//! served from the database: its sealed settings, its uploaded plugin
//! versions under its ceilings, its own folders under `[hosted] data_dir`.

use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Config;
use crate::domain::model::{Campaign, Tenant, TenantCeilings};
use crate::mail::imap::ImapInbox;
use crate::mail::smtp::SmtpSender;
use crate::pipeline::{Clock, Cycle, LiveMail, Transports};
use crate::plugins::cache::CompileCache;
use crate::plugins::registry::LoadFailure;
use crate::plugins::shadow::ShadowRunner;
use crate::plugins::{PluginRegistry, Reloader, fleet, watch};
use crate::runtime::Runtime;
use crate::runtime::limits::{LimitSettings, TenantCeiling};
use crate::store::{Backend, Store, StoredSettings, backend_of};
use crate::tenancy::SealedSettings;
use crate::webhook::Webhook;

/// The process-wide parts: configuration, store, plugin runtime (started
/// on first use: commands that only read the store never start an engine).
pub struct App {
    config: Config,
    store: Arc<dyn Store>,
    runtime: std::sync::OnceLock<Arc<Runtime>>,
    /// The compile cache hosted tenants share: one compiled component per
    /// plugin version per process, whichever tenants use it.
    shared_cache: std::sync::OnceLock<Arc<CompileCache>>,
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
    /// The revision of the settings it was built from (hosted tenants).
    pub settings_revision: Option<i64>,
    /// A hosted tenant's reloader, synced before each of its cycles.
    reloader: Option<Arc<Reloader>>,
    /// Keeps the plugins folder watched and the fleet followed (`cam run`).
    _following: Option<Following>,
}

/// The watchers that keep a tenant's plugins current while they live.
struct Following {
    _watch: Option<watch::WatchHandle>,
    _fleet: Option<fleet::FleetListener>,
}

/// Every tenant's app, opened on first use and rebuilt when its settings
/// change: what a worker serving every tenant runs each campaign with.
pub struct TenantPool<'a> {
    app: &'a App,
    follow: bool,
    open: tokio::sync::Mutex<std::collections::HashMap<String, Arc<TenantApp>>>,
}

impl<'a> TenantPool<'a> {
    /// An empty pool over `app`; with `follow`, opened tenants follow the
    /// fleet's plugin uploads (PostgreSQL `LISTEN`).
    pub fn new(app: &'a App, follow: bool) -> TenantPool<'a> {
        TenantPool {
            app,
            follow,
            open: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// `tenant`'s app, current: its settings re-read when their revision
    /// changed, its plugins synced with the store's active versions.
    pub async fn get(&self, tenant: &str) -> anyhow::Result<Arc<TenantApp>> {
        let revision = self.app.store.tenant_settings(tenant).await?.map(|s| s.revision);
        let mut open = self.open.lock().await;
        if let Some(opened) = open.get(tenant)
            && opened.settings_revision == revision
        {
            opened.refresh_plugins().await?;
            return Ok(opened.clone());
        }
        let built = Arc::new(self.app.tenant_app(tenant, self.follow).await?);
        open.insert(tenant.to_string(), built.clone());
        Ok(built)
    }

    /// How many tenants are open.
    pub async fn len(&self) -> usize {
        self.open.lock().await.len()
    }

    /// Whether no tenant is open yet.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

impl TenantApp {
    /// Follows the store's active versions now (a hosted tenant's uploads,
    /// rollbacks and promotions); a no-op for the config file's tenant,
    /// whose folder is watched.
    pub async fn refresh_plugins(&self) -> anyhow::Result<()> {
        match &self.reloader {
            Some(reloader) => reloader.sync().await,
            None => Ok(()),
        }
    }
}

impl App {
    /// Opens the database (migrating it).
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let store = crate::store::open(config.database_url()).await?;
        Ok(App {
            config,
            store,
            runtime: std::sync::OnceLock::new(),
            shared_cache: std::sync::OnceLock::new(),
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
                _watch: Some(watching),
                _fleet: fleet,
            }),
        )
    }

    /// What `tenant`'s cycles run with: from its settings in the database
    /// when it has some (a hosted tenant), else — for the config file's own
    /// tenant — from `cam.toml` and the plugins folder. With `follow`, its
    /// plugins keep following the fleet's uploads (PostgreSQL).
    pub async fn tenant_app(&self, tenant: &str, follow: bool) -> anyhow::Result<TenantApp> {
        match self.store.tenant_settings(tenant).await? {
            Some(stored) => {
                let row = self.store.get_tenant(tenant).await?;
                self.hosted_tenant(&row, stored, follow).await
            }
            None if tenant == self.config.tenant => match follow {
                true => self.following_tenant().await,
                false => self.tenant().await,
            },
            None => anyhow::bail!(
                "tenant {tenant:?} has no settings in the database and is not this config's tenant \
                 ({:?}): set them with `cam tenants settings set {tenant} --file settings.toml`",
                self.config.tenant
            ),
        }
    }

    /// The settings of hosted `tenant`, opened with the server key.
    pub async fn tenant_settings(&self, tenant: &str) -> anyhow::Result<Option<(SealedSettings, i64)>> {
        let Some(stored) = self.store.tenant_settings(tenant).await? else {
            return Ok(None);
        };
        let keys = crate::tenancy::server_keys(&self.config)?;
        Ok(Some((
            SealedSettings::open(&keys, tenant, &stored.sealed)?,
            stored.revision,
        )))
    }

    async fn hosted_tenant(&self, tenant: &Tenant, stored: StoredSettings, follow: bool) -> anyhow::Result<TenantApp> {
        let keys = crate::tenancy::server_keys(&self.config)?;
        let opened = SealedSettings::open(&keys, &tenant.id, &stored.sealed)?;
        let dir = self.config.tenant_dir(&tenant.id);
        let plugins_dir = dir.join("plugins");
        std::fs::create_dir_all(&plugins_dir)
            .with_context(|| format!("creating the tenant's folder {}", plugins_dir.display()))?;
        let runtime = self.runtime()?.clone();
        runtime.calls().set_tenant_ceiling(
            &tenant.id,
            tenant
                .ceilings
                .max_concurrent_calls
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        );
        let registry = Arc::new(PluginRegistry::new());
        let reloader = Arc::new(
            Reloader::new(runtime.clone(), registry.clone(), &plugins_dir, &tenant.id)
                .with_store(self.store.clone())
                .adopting_store_plugins()
                .with_cache(Some(self.shared_cache()?))
                .with_ceiling(ceiling_of(&tenant.ceilings)),
        );
        let load_failures = reloader.load_all().await?;
        let fleet = match (follow, backend_of(self.config.database_url())?) {
            (true, Backend::Postgres) => {
                Some(fleet::listen(self.config.database_url(), &tenant.id, reloader.clone()).await?)
            }
            _ => None,
        };
        Ok(TenantApp {
            tenant: tenant.id.clone(),
            runtime,
            shadow: Arc::new(ShadowRunner::new(registry.clone(), &plugins_dir)),
            registry,
            transports: hosted_transports(&self.config, &opened, &dir, &self.store, &tenant.id)?,
            load_failures,
            settings_revision: Some(stored.revision),
            reloader: Some(reloader),
            _following: fleet.map(|fleet| Following {
                _watch: None,
                _fleet: Some(fleet),
            }),
        })
    }

    /// The compile cache shared by hosted tenants (and API uploads): one
    /// compiled component per sha256 per process.
    pub fn compile_cache(&self) -> anyhow::Result<Arc<CompileCache>> {
        self.shared_cache()
    }

    fn shared_cache(&self) -> anyhow::Result<Arc<CompileCache>> {
        if let Some(cache) = self.shared_cache.get() {
            return Ok(cache.clone());
        }
        let dir = self.config.tenant_dir(".compiled");
        let cache = Arc::new(CompileCache::new(dir, self.runtime()?.engine()).holding_components());
        Ok(self.shared_cache.get_or_init(|| cache).clone())
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
            settings_revision: None,
            reloader: None,
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

/// The plugin ceilings of a tenant row.
pub fn ceiling_of(ceilings: &TenantCeilings) -> TenantCeiling {
    TenantCeiling {
        limits: LimitSettings {
            timeout_ms: ceilings.max_timeout_ms,
            memory_mib: ceilings.max_memory_mib.map(u64::from),
            ..LimitSettings::default()
        },
        kv_bytes: ceilings.max_kv_bytes,
    }
}

/// A hosted tenant's transports: dry-run folders under its own folder, its
/// mailboxes and inboxes, its alert channels, links signed with its own key.
fn hosted_transports(
    config: &Config,
    opened: &SealedSettings,
    dir: &std::path::Path,
    store: &Arc<dyn Store>,
    tenant: &str,
) -> anyhow::Result<Transports> {
    let settings = &opened.settings;
    let problems = settings.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
        anyhow::bail!("the settings of tenant {tenant:?} are not usable: {}", list.join("; "));
    }
    let links = Arc::new(crate::mail::unsubscribe::UnsubscribeLinks::new(
        opened.unsubscribe_key.clone(),
        settings.mail.unsubscribe_url.clone(),
    ));
    let (outbox, inbox) = (dir.join("outbox"), dir.join("inbox"));
    crate::mail::maildir::MaildirInbox::new(&inbox)
        .create()
        .with_context(|| format!("creating the tenant's inbox {}", inbox.display()))?;
    let mut transports = Transports::dry_run(&outbox, &inbox, "", links);
    transports.operator_address = settings.alerts.email.clone().filter(|a| !a.trim().is_empty());
    transports.identity = settings.sender.clone();
    if let Some(webhook) = &settings.alerts.webhook {
        transports.webhook = Some(Arc::new(Webhook::new(webhook, &config.base_dir)?));
    }
    let mail = &settings.mail;
    if !mail.smtp.is_empty() {
        transports.live = Some(LiveMail {
            sender: Arc::new(SmtpSender::new(&mail.smtp, &config.base_dir)?),
            inbox: Arc::new(ImapInbox::new(&mail.imap, &config.base_dir, store.clone(), tenant)?),
            tenant: tenant.to_string(),
        });
    }
    Ok(transports)
}
