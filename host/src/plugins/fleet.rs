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

use super::loaded::LoadedPlugin;
use super::manifest::Manifest;
use super::reloader::{Reloader, new_version};
use crate::domain::model::PluginVersionRecord;
use crate::runtime::Runtime;
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
    let manifest = Manifest::parse(&manifest_text, &manifest_path)?;
    let stem = wasm
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let origin = wasm.display().to_string();
    let plugin = LoadedPlugin::load(runtime, &bytes, manifest, &stem, &origin, runtime.scope(tenant, None))
        .await
        .map_err(|e| anyhow::anyhow!("{} failed validation: {}: {}", wasm.display(), e.kind, e.message))?;
    store.ensure_tenant(tenant, tenant).await?;
    store
        .save_plugin_blob(tenant, plugin.sha256(), &bytes, &manifest_text)
        .await?;
    store
        .record_plugin_version(tenant, &new_version(&plugin, &format!("upload:{origin}")))
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
