//! Where the `kv` import keeps its data: a trait the embedder implements
//! (the host's store, a scratch map for `cam plugins check`), so the runtime
//! knows nothing of the database.

/// Why a kv operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvFailure {
    /// The write would exceed the quota.
    #[error("quota exceeded: {used} bytes used + {wanted} wanted > {quota} allowed")]
    QuotaExceeded {
        /// Bytes in use now.
        used: u64,
        /// Bytes the write adds.
        wanted: u64,
        /// The quota.
        quota: u64,
    },
    /// The database failed.
    #[error("storage: {0}")]
    Storage(String),
}

/// Where kv data lives: the store implements this for its backends.
#[async_trait::async_trait]
pub trait KvBackend: Send + Sync {
    /// The value under `key`, if any.
    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvFailure>;
    /// Sets `key` to `value`, failing if the plugin's total would pass `quota_bytes`.
    async fn kv_set(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota_bytes: u64,
    ) -> Result<(), KvFailure>;
    /// Removes `key` (no error when absent).
    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> Result<(), KvFailure>;
}
