//! Plugin versions (history, the active one, kept bytes) and their change announcements.
//!
//! The trait is implemented once for both backends, in `store/sql/plugins.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::{NewPluginVersion, PluginVersionRecord};
use crate::store::StoreResult;

/// Plugin versions (history, the active one, kept bytes) and their change announcements.
#[async_trait]
pub trait PluginVersions: Send + Sync {
    /// Records a version (idempotent on (name, sha256)); new versions start inactive.
    async fn record_plugin_version(&self, tenant: &str, version: &NewPluginVersion)
    -> StoreResult<PluginVersionRecord>;
    /// Every version of `name`, newest first.
    async fn plugin_history(&self, tenant: &str, name: &str) -> StoreResult<Vec<PluginVersionRecord>>;
    /// The active version of every plugin, by name.
    async fn active_plugin_versions(&self, tenant: &str) -> StoreResult<Vec<PluginVersionRecord>>;
    /// Makes `sha256` the one active version of `name` (rollback and promotion).
    async fn activate_plugin_version(&self, tenant: &str, name: &str, sha256: &str)
    -> StoreResult<PluginVersionRecord>;
    /// Keeps a version's component bytes and manifest text in the database,
    /// so every worker of a hosted fleet can load it (idempotent on sha256).
    async fn save_plugin_blob(&self, tenant: &str, sha256: &str, wasm: &[u8], manifest: &str) -> StoreResult<()>;
    /// A kept version's component bytes and manifest text.
    async fn plugin_blob(&self, tenant: &str, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>>;
    /// Tells every worker connected to this database that the versions of
    /// `name` changed: PostgreSQL `NOTIFY` on [`PLUGIN_CHANGES_CHANNEL`](super::PLUGIN_CHANGES_CHANNEL) with
    /// payload `tenant/name`. A no-op on SQLite, whose one worker polls.
    async fn announce_plugin_change(&self, tenant: &str, name: &str) -> StoreResult<()>;
}
