//! Fleet reload for hosted mode: plugin versions live in PostgreSQL and reach
//! every worker through `LISTEN/NOTIFY`.
//!
//! [`upload`] validates a component with its manifest, stores both in the
//! database (`plugin_blobs`), records the version, makes it active and
//! announces the change on [`PLUGIN_CHANGES_CHANNEL`]. Each worker runs a
//! [`Reloader`] built with `adopting_store_plugins()` and [`listen`]s: a
//! notification for its tenant makes it follow the store's active versions
//! at once (loading bytes from the database), so an upload, a rollback or a
//! promotion reaches the fleet in well under a second. If the listening
//! connection drops, notifications sent meanwhile are lost; the listener
//! re-syncs after reconnecting, and the reloader's periodic sync is the
//! backstop.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::cache::CompileCache;
use super::loaded::LoadedPlugin;
use super::manifest::Manifest;
use super::reloader::{Reloader, new_version};
use crate::domain::model::PluginVersionRecord;
use crate::runtime::Runtime;
use crate::runtime::limits::TenantCeiling;
use crate::store::{PLUGIN_CHANGES_CHANNEL, Store};

/// Pause before retrying a failed `LISTEN` connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Validates `wasm` (with the manifest beside it), stores its bytes in the
/// database, makes it the tenant's active version and tells every worker.
pub async fn upload(
    store: &dyn Store,
    runtime: &Runtime,
    tenant: &str,
    wasm: &Path,
) -> anyhow::Result<PluginVersionRecord> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let manifest_path = Manifest::path_for(wasm);
    let manifest_text =
        std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let stem = wasm
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let upload = Upload {
        bytes,
        manifest_text,
        manifest_path,
        default_name: stem,
        origin: wasm.display().to_string(),
    };
    store.ensure_tenant(tenant, tenant).await?;
    upload_component(store, runtime, None, tenant, TenantCeiling::default(), upload)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A component and its manifest, as uploaded.
#[derive(Debug)]
pub struct Upload {
    /// The component's bytes.
    pub bytes: Vec<u8>,
    /// The manifest's TOML text.
    pub manifest_text: String,
    /// Where the manifest came from, for errors.
    pub manifest_path: std::path::PathBuf,
    /// The plugin's name when the manifest gives none.
    pub default_name: String,
    /// Where the component came from, for errors.
    pub origin: String,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The manifest is not valid.
    #[error("{0}")]
    Manifest(String),
    /// The component failed validation (not a component, wrong world, a
    /// failing `describe`, a name that is not allowed).
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Validates an uploaded component under `tenant`'s ceilings (compiling
/// through `cache`), stores its bytes, makes it the tenant's active version
/// and tells every worker.
pub async fn upload_component(
    store: &dyn Store,
    runtime: &Runtime,
    cache: Option<Arc<CompileCache>>,
    tenant: &str,
    ceiling: TenantCeiling,
    upload: Upload,
) -> Result<PluginVersionRecord, UploadError> {
    let manifest = Manifest::parse(&upload.manifest_text, &upload.manifest_path)
        .map_err(|e| UploadError::Manifest(e.to_string()))?;
    let scope = runtime.scope(tenant, None).with_ceiling(ceiling);
    let (plugin, _) = LoadedPlugin::load_bytes_cached(
        runtime,
        upload.bytes.clone(),
        manifest,
        &upload.default_name,
        &upload.origin,
        cache,
        scope,
    )
    .await
    .map_err(|e| {
        UploadError::Invalid(format!(
            "{} failed validation: {}: {}",
            upload.origin, e.kind, e.message
        ))
    })?;
    crate::domain::name::validate("plugin name", plugin.name()).map_err(|e| UploadError::Invalid(e.to_string()))?;
    store
        .save_plugin_blob(tenant, plugin.sha256(), &upload.bytes, &upload.manifest_text)
        .await?;
    store
        .record_plugin_version(tenant, &new_version(&plugin, &format!("upload:{}", upload.origin)))
        .await?;
    let record = store
        .activate_plugin_version(tenant, plugin.name(), plugin.sha256())
        .await?;
    store.announce_plugin_change(tenant, plugin.name()).await?;
    Ok(record)
}

/// The running listener; dropping it stops listening.
#[derive(Debug)]
pub struct FleetListener {
    task: JoinHandle<()>,
}

impl Drop for FleetListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `database_url` for plugin changes of the reloader's tenant and
/// syncs the reloader on each. Returns once `LISTEN` is in place, so a change
/// announced after this returns is never missed.
pub async fn listen(database_url: &str, tenant: &str, reloader: Arc<Reloader>) -> anyhow::Result<FleetListener> {
    let mut listener = PgListener::connect(database_url).await.with_context(|| {
        format!(
            "connecting to {} to listen for plugin changes",
            crate::store::redact(database_url)
        )
    })?;
    listener
        .listen(PLUGIN_CHANGES_CHANNEL)
        .await
        .context("LISTEN for plugin changes")?;
    let prefix = format!("{tenant}/");
    let task = tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if !notification.payload().starts_with(&prefix) {
                        continue;
                    }
                    tracing::info!(change = %notification.payload(), "plugin change announced");
                }
                // The connection dropped and was re-established: anything
                // announced meanwhile is lost, so look at the store.
                Ok(None) => tracing::warn!("plugin change listener reconnected"),
                Err(error) => {
                    tracing::warn!("plugin change listener failed: {error}; retrying");
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    continue;
                }
            }
            if let Err(error) = reloader.sync().await {
                tracing::warn!("following the store's plugin versions failed: {error:#}");
            }
        }
    });
    Ok(FleetListener { task })
}
