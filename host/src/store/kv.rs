//! Plugins' key-value data, with a per-plugin quota.
//!
//! The trait is implemented once for both backends, in `store/sql/kv.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::store::StoreResult;

/// Plugins' key-value data, with a per-plugin quota.
#[async_trait]
pub trait PluginKv: Send + Sync {
    /// A plugin's value for `key`.
    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Sets `key`, atomically refusing with `QuotaExceeded` when the plugin's
    /// total (key + value bytes over all its keys, this one's new size
    /// included) would exceed `quota_bytes`.
    async fn kv_set(&self, tenant: &str, plugin: &str, key: &str, value: &[u8], quota_bytes: u64) -> StoreResult<()>;
    /// Deletes `key`; whether it existed.
    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<bool>;
    /// Bytes the plugin uses (keys plus values).
    async fn kv_usage(&self, tenant: &str, plugin: &str) -> StoreResult<u64>;
}
