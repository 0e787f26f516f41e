//! The reloader: keeps a [`PluginRegistry`] in step with the plugins folder
//! and with the active versions recorded in the store. The folder watcher
//! that drives it lives in [`super::watch`].
//!
//! - A changed `.wasm` (or its `.toml` manifest) is compiled on a blocking
//!   thread through the [`CompileCache`], checked against its world and
//!   smoke-called (`describe`) by [`LoadedPlugin::load_compiled`]; only then
//!   is it swapped into the registry. Calls already running keep their
//!   `Arc<LoadedPlugin>` and finish on the old version.
//! - A file that fails any check (half-written, corrupt, wrong world, failing
//!   smoke call) never replaces the serving version; the failure is kept per
//!   file in the registry (`cam plugins status`) and logged.
//! - A deleted file unloads its plugin.
//! - Every loaded version is kept in the [`VersionFolder`] and recorded in the
//!   store, and made active there. Every [`SYNC_INTERVAL`] (and on a fleet
//!   notification) the reloader follows the store's active versions, so
//!   `cam plugins rollback` and `promote` reach a running worker.
//!
//! At startup a file the store has never seen is a new deployment and becomes
//! active; a file the store already knows defers to the store's active
//! version, so a rollback survives a restart. A file that does not load at
//! startup leaves its plugin's last active version (from the store) serving,
//! with the file's failure shown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::cache::{CacheOutcome, CompileCache};
use super::loaded::{LoadedPlugin, sha256_hex};
use super::manifest::{Manifest, ManifestError};
use super::registry::{LoadFailure, PluginRegistry, wasm_files};
use super::versions::VersionFolder;
use crate::domain::model::NewPluginVersion;
use crate::runtime::limits::TenantCeiling;
use crate::runtime::{FailureKind, PluginError, Runtime};
use crate::store::Store;

/// How often a running worker compares its registry with the store's active
/// versions (rollback, promotion, shadow changes made by `cam plugins`).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Name of the compile cache folder inside the plugins folder.
pub const CACHE_DIR: &str = ".cache";

/// What the reloader last loaded from a file, to skip events that changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileContent {
    sha256: String,
    manifest: String,
}

/// Keeps a registry in step with a plugins folder (and the store).
pub struct Reloader {
    runtime: Arc<Runtime>,
    registry: Arc<PluginRegistry>,
    plugins_dir: PathBuf,
    tenant: String,
    versions: VersionFolder,
    cache: Option<Arc<CompileCache>>,
    store: Option<Arc<dyn Store>>,
    /// Where version bytes come from when the folder does not have them
    /// (hosted mode keeps them in the database).
    blobs: Option<Arc<dyn Store>>,
    adopt_store_plugins: bool,
    ceiling: TenantCeiling,
    loaded: Mutex<HashMap<PathBuf, FileContent>>,
    /// One reload at a time: the watcher and the sync never race on a name.
    busy: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("plugins_dir", &self.plugins_dir)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader of `plugins_dir` into `registry` for `tenant`, with the
    /// compile cache in `<plugins_dir>/.cache` and no store.
    pub fn new(runtime: Arc<Runtime>, registry: Arc<PluginRegistry>, plugins_dir: &Path, tenant: &str) -> Reloader {
        let cache = CompileCache::new(plugins_dir.join(CACHE_DIR), runtime.engine());
        Reloader {
            runtime,
            registry,
            plugins_dir: plugins_dir.to_path_buf(),
            tenant: tenant.to_string(),
            versions: VersionFolder::in_plugins_dir(plugins_dir),
            cache: Some(Arc::new(cache)),
            store: None,
            blobs: None,
            adopt_store_plugins: false,
            ceiling: TenantCeiling::default(),
            loaded: Mutex::new(HashMap::new()),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// Records versions in `store` and follows its active versions.
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Reloader {
        self.store = Some(store);
        self
    }

    /// Uses `cache` (or none) instead of the default compile cache.
    pub fn with_cache(mut self, cache: Option<Arc<CompileCache>>) -> Reloader {
        self.cache = cache;
        self
    }

    /// Hosted mode: serve every plugin the store has an active version of
    /// (not only those with a file here), reading bytes from the database.
    pub fn adopting_store_plugins(mut self) -> Reloader {
        if let Some(store) = &self.store {
            self.blobs = Some(store.clone());
        }
        self.adopt_store_plugins = true;
        self
    }

    /// Loads every version under the tenant's ceilings (hosted mode).
    pub fn with_ceiling(mut self, ceiling: TenantCeiling) -> Reloader {
        self.ceiling = ceiling;
        self
    }

    /// The plugins folder.
    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    /// The registry it keeps in step.
    pub fn registry(&self) -> &Arc<PluginRegistry> {
        &self.registry
    }

    /// The compile cache, if any.
    pub fn cache(&self) -> Option<&Arc<CompileCache>> {
        self.cache.as_ref()
    }

    /// The version folder.
    pub fn versions(&self) -> &VersionFolder {
        &self.versions
    }

    /// Loads every `.wasm` of the folder, then follows the store. Failures
    /// are returned (and kept in the registry); the others serve.
    pub async fn load_all(&self) -> anyhow::Result<Vec<LoadFailure>> {
        if let Some(store) = &self.store {
            store
                .ensure_tenant(&self.tenant, &self.tenant)
                .await
                .context("creating the tenant")?;
        }
        let files = wasm_files(&self.plugins_dir)
            .with_context(|| format!("cannot read the plugins folder {}", self.plugins_dir.display()))?;
        for file in files {
            // Failures are kept in the registry and logged.
            let _ = self.reload(&file, true).await;
        }
        self.serve_last_good_versions().await?;
        self.sync().await?;
        Ok(self.registry.failures())
    }

    /// A file that does not load at startup (broken while the worker was
    /// down) has no serving version to keep; serve its plugin's active
    /// version from the store meanwhile. The file's failure stays visible.
    async fn serve_last_good_versions(&self) -> anyhow::Result<()> {
        let Some(store) = &self.store else { return Ok(()) };
        let failures = self.registry.failures();
        if failures.is_empty() {
            return Ok(());
        }
        let active = store
            .active_plugin_versions(&self.tenant)
            .await
            .context("reading the active plugin versions")?;
        for failure in failures {
            let name = &failure.error.plugin;
            let Some(record) = active.iter().find(|v| &v.plugin.name == name) else {
                continue;
            };
            if self.registry.get(name).is_some() {
                continue;
            }
            if let Ok(plugin) = self.load_version(name, &record.plugin.sha256).await {
                tracing::warn!(
                    plugin = %name,
                    version = %plugin.version(),
                    file = %failure.file.display(),
                    "the plugin file does not load; serving its last active version"
                );
                self.registry.activate_from_file(&failure.file, plugin);
                self.registry.record_failure(&failure.file, failure.error);
            }
        }
        Ok(())
    }

    /// Handles a change of `wasm` (its bytes or its manifest): loads and
    /// swaps in the new version, or unloads the plugin when the file is gone.
    /// `Ok(None)` means unloaded; an error left the serving version in place.
    pub async fn reload_file(&self, wasm: &Path) -> Result<Option<Arc<LoadedPlugin>>, PluginError> {
        self.reload(wasm, false).await
    }

    async fn reload(&self, wasm: &Path, startup: bool) -> Result<Option<Arc<LoadedPlugin>>, PluginError> {
        let _busy = self.busy.lock().await;
        let stem = wasm
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let bytes = match std::fs::read(wasm) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.lock_loaded().remove(wasm);
                if let Some(old) = self.registry.remove_file(wasm) {
                    tracing::info!(plugin = %old.name(), version = %old.version(), file = %wasm.display(), "plugin file deleted: unloaded");
                }
                return Ok(None);
            }
            Err(e) => {
                let error = PluginError::new(
                    FailureKind::InvalidComponent,
                    &stem,
                    "-",
                    format!("cannot read {}: {e}", wasm.display()),
                );
                return Err(self.failed(wasm, error));
            }
        };
        let sha256 = sha256_hex(&bytes);
        let manifest_path = Manifest::path_for(wasm);
        let manifest_text = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(e) => {
                let message = if e.kind() == std::io::ErrorKind::NotFound {
                    ManifestError::Missing { path: manifest_path }.to_string()
                } else {
                    ManifestError::Io {
                        path: manifest_path,
                        source: e,
                    }
                    .to_string()
                };
                let error = PluginError::new(FailureKind::InvalidManifest, &stem, short(&sha256), message);
                return Err(self.failed(wasm, error));
            }
        };
        let content = FileContent {
            sha256: sha256.clone(),
            manifest: manifest_text.clone(),
        };
        let unchanged = self.lock_loaded().get(wasm) == Some(&content);
        if unchanged
            && let Some(current) = self
                .registry
                .name_of_file(wasm)
                .and_then(|name| self.registry.get(&name))
        {
            return Ok(Some(current));
        }
        let origin = wasm.display().to_string();
        let plugin = match self
            .prepare(
                bytes.clone(),
                sha256.clone(),
                &manifest_text,
                &manifest_path,
                &stem,
                &origin,
            )
            .await
        {
            Ok(plugin) => plugin,
            Err(error) => return Err(self.failed(wasm, error)),
        };
        if let Err(error) = self.versions.save(&sha256, &bytes, &manifest_text) {
            tracing::warn!(plugin = %plugin.name(), "cannot keep the version's bytes for rollback: {error:#}");
        }
        self.record(&plugin, &origin, !startup).await;
        let replaced = self.registry.activate_from_file(wasm, plugin.clone());
        self.lock_loaded().insert(wasm.to_path_buf(), content);
        tracing::info!(
            plugin = %plugin.name(),
            version = %plugin.version(),
            replaced = %replaced.as_ref().map_or("-", |old| old.version()),
            file = %wasm.display(),
            "plugin version serving"
        );
        Ok(Some(plugin))
    }

    /// Records the version in the store; makes it active there when `activate`
    /// or when the store has not seen it before (a new deployment).
    async fn record(&self, plugin: &LoadedPlugin, source: &str, activate: bool) {
        let Some(store) = &self.store else { return };
        let result = async {
            let history = store.plugin_history(&self.tenant, plugin.name()).await?;
            let known = history.iter().any(|v| v.plugin.sha256 == plugin.sha256());
            let has_active = history.iter().any(|v| v.active);
            store
                .record_plugin_version(&self.tenant, &new_version(plugin, source))
                .await?;
            if activate || !known || !has_active {
                store
                    .activate_plugin_version(&self.tenant, plugin.name(), plugin.sha256())
                    .await?;
            }
            Ok::<(), crate::store::StoreError>(())
        }
        .await;
        if let Err(error) = result {
            tracing::error!(plugin = %plugin.name(), version = %plugin.version(), "cannot record the plugin version: {error}");
        }
    }

    /// Compiles (off the async runtime, through the cache), checks the world
    /// and smoke-calls `describe`.
    async fn prepare(
        &self,
        bytes: Vec<u8>,
        sha256: String,
        manifest_text: &str,
        manifest_path: &Path,
        default_name: &str,
        origin: &str,
    ) -> Result<Arc<LoadedPlugin>, PluginError> {
        let manifest = Manifest::parse(manifest_text, manifest_path).map_err(|e| {
            PluginError::new(
                FailureKind::InvalidManifest,
                default_name,
                short(&sha256),
                e.to_string(),
            )
        })?;
        let name = manifest.name.clone().unwrap_or_else(|| default_name.to_string());
        let engine = self.runtime.engine().clone();
        let cache = self.cache.clone();
        let sha = sha256.clone();
        let started = Instant::now();
        let compiled = tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache.compile(&engine, &bytes, &sha),
            None => wasmtime::component::Component::new(&engine, &bytes).map(|c| (c, CacheOutcome::Compiled)),
        })
        .await;
        let (component, outcome) = match compiled {
            Ok(Ok(compiled)) => compiled,
            Ok(Err(e)) => {
                return Err(PluginError::new(
                    FailureKind::InvalidComponent,
                    &name,
                    short(&sha256),
                    format!(
                        "{origin} is not a loadable WebAssembly component (half-written or corrupt?): {}",
                        super::loaded::load_error(&e)
                    ),
                ));
            }
            Err(join) => {
                return Err(PluginError::new(
                    FailureKind::InvalidComponent,
                    &name,
                    short(&sha256),
                    format!("compiling {origin} failed: {join}"),
                ));
            }
        };
        tracing::debug!(plugin = %name, ?outcome, elapsed_ms = started.elapsed().as_millis() as u64, "compiled");
        let scope = self.runtime.scope(&self.tenant, None).with_ceiling(self.ceiling);
        let plugin =
            LoadedPlugin::load_compiled(&self.runtime, component, sha256, manifest, default_name, origin, scope)
                .await?;
        Ok(Arc::new(plugin))
    }

    /// Loads a kept version (from the version folder, else the database).
    pub async fn load_version(&self, name: &str, sha256: &str) -> Result<Arc<LoadedPlugin>, PluginError> {
        let missing = |message: String| PluginError::new(FailureKind::InvalidComponent, name, short(sha256), message);
        let kept = self.versions.read(sha256).map_err(|e| missing(format!("{e:#}")))?;
        let (bytes, manifest_text) = match kept {
            Some(kept) => kept,
            None => match &self.blobs {
                Some(store) => store
                    .plugin_blob(&self.tenant, sha256)
                    .await
                    .map_err(|e| missing(format!("reading version {sha256} from the database: {e}")))?
                    .ok_or_else(|| {
                        missing(format!(
                            "the bytes of version {sha256} are neither in {} nor in the database",
                            self.versions.dir().display()
                        ))
                    })?,
                None => {
                    return Err(missing(format!(
                        "the bytes of version {sha256} are not in {}; load the file again to keep them",
                        self.versions.dir().display()
                    )));
                }
            },
        };
        if sha256_hex(&bytes) != sha256 {
            return Err(missing(format!(
                "the kept bytes of version {sha256} do not match their sha256"
            )));
        }
        let origin = format!("version {}", short(sha256));
        let manifest_path = self.versions.wasm_path(sha256).with_extension("toml");
        self.prepare(bytes, sha256.to_string(), &manifest_text, &manifest_path, name, &origin)
            .await
    }

    /// Follows the store's active versions (rollback, promotion, fleet
    /// uploads), the shadow candidates and quarantine release requests.
    pub async fn sync(&self) -> anyhow::Result<()> {
        // Held from reading the store to swapping: a file reload that
        // activates a newer version in between must not be undone by this
        // sync's stale read.
        let _busy = self.busy.lock().await;
        for name in self.versions.take_release_requests() {
            for plugin in [self.registry.get(&name), self.registry.shadow_of(&name)]
                .into_iter()
                .flatten()
            {
                plugin.health().release();
                tracing::info!(plugin = %name, version = %plugin.version(), "released from quarantine");
            }
        }
        if let Some(store) = &self.store {
            let active = store
                .active_plugin_versions(&self.tenant)
                .await
                .context("reading the active plugin versions")?;
            for record in active {
                let name = &record.plugin.name;
                let serving = self.registry.get(name);
                if serving.is_none() && !self.adopt_store_plugins {
                    // Its file was deleted (or never here): local mode serves
                    // only what the folder has.
                    continue;
                }
                if serving.is_some_and(|p| p.sha256() == record.plugin.sha256) {
                    continue;
                }
                match self.load_version(name, &record.plugin.sha256).await {
                    Ok(plugin) => {
                        self.registry
                            .clear_failure(&self.versions.wasm_path(&record.plugin.sha256));
                        let replaced = self.registry.activate_shared(plugin.clone());
                        tracing::info!(
                            plugin = %name,
                            version = %plugin.version(),
                            replaced = %replaced.as_ref().map_or("-", |old| old.version()),
                            "following the store's active version"
                        );
                    }
                    Err(error) => {
                        let at = self.versions.wasm_path(&record.plugin.sha256);
                        self.failed(&at, error);
                    }
                }
            }
        }
        self.sync_shadows().await;
        Ok(())
    }

    async fn sync_shadows(&self) {
        let wanted = self.versions.shadows();
        for plugin in self.registry.shadows() {
            if !wanted.contains_key(plugin.name()) {
                self.registry.remove_shadow(plugin.name());
            }
        }
        for (name, sha256) in wanted {
            if self.registry.shadow_of(&name).is_some_and(|p| p.sha256() == sha256) {
                continue;
            }
            match self.load_version(&name, &sha256).await {
                Ok(plugin) => {
                    self.registry.clear_failure(&self.versions.wasm_path(&sha256));
                    tracing::info!(plugin = %name, version = %plugin.version(), "shadow candidate installed");
                    self.registry.set_shadow(plugin);
                }
                Err(error) => {
                    let at = self.versions.wasm_path(&sha256);
                    self.failed(&at, error);
                }
            }
        }
    }

    fn failed(&self, file: &Path, error: PluginError) -> PluginError {
        tracing::error!(
            plugin = %error.plugin,
            version = %error.version,
            file = %file.display(),
            kind = %error.kind,
            "plugin not loaded; the serving version (if any) stays: {}",
            error.message
        );
        self.registry.record_failure(file, error.clone());
        error
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, FileContent>> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The store row for a loaded version.
pub fn new_version(plugin: &LoadedPlugin, source: &str) -> NewPluginVersion {
    NewPluginVersion {
        name: plugin.name().to_string(),
        kind: plugin.kind().as_str().to_string(),
        version: plugin.info().version.clone(),
        sha256: plugin.sha256().to_string(),
        source: source.to_string(),
    }
}

/// The short version name of a sha256 (its first 12 hex digits).
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}
