//! `kv`: a small key-value store per tenant and plugin, kept in the database.

use crate::runtime::bindings::kv::{self, Error};
use crate::runtime::bindings::types::Capability;
use crate::runtime::state::PluginState;

/// Longest key accepted.
const MAX_KEY_BYTES: usize = 256;

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

fn to_wit(failure: KvFailure) -> Error {
    match failure {
        e @ KvFailure::QuotaExceeded { .. } => Error::QuotaExceeded(e.to_string()),
        KvFailure::Storage(message) => Error::Storage(message),
    }
}

impl PluginState {
    fn kv_target(&mut self, key: &str) -> Result<(std::sync::Arc<dyn KvBackend>, u64), Error> {
        // Denied is an error value, audited or not; the use is recorded.
        self.counters.used.insert(Capability::Kv);
        let Some(grant) = self.identity.grants.kv else {
            self.counters.denied.insert(Capability::Kv);
            return Err(Error::Denied);
        };
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(Error::Storage(format!("keys must be 1 to {MAX_KEY_BYTES} bytes")));
        }
        let backend = self
            .scope
            .kv
            .clone()
            .ok_or_else(|| Error::Storage("no kv storage configured".into()))?;
        Ok((backend, grant.quota_bytes))
    }
}

impl kv::Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let (backend, _) = match self.kv_target(&key) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        Ok(backend
            .kv_get(&self.scope.tenant, &self.identity.name, &key)
            .await
            .map_err(to_wit))
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let (backend, quota) = match self.kv_target(&key) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        Ok(backend
            .kv_set(&self.scope.tenant, &self.identity.name, &key, &value, quota)
            .await
            .map_err(to_wit))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), Error>> {
        let (backend, _) = match self.kv_target(&key) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        Ok(backend
            .kv_delete(&self.scope.tenant, &self.identity.name, &key)
            .await
            .map_err(to_wit))
    }
}

/// The `kv` import backed by the database through the [`Store`](crate::store::Store).
pub struct StoreKv(pub std::sync::Arc<dyn crate::store::Store>);

fn store_failure(error: crate::store::StoreError) -> KvFailure {
    match error {
        crate::store::StoreError::QuotaExceeded { used, requested, limit } => KvFailure::QuotaExceeded {
            used,
            wanted: requested,
            quota: limit,
        },
        other => {
            tracing::error!(error = ?other, "plugin kv storage failed");
            KvFailure::Storage("the host's storage failed; try again later".into())
        }
    }
}

#[async_trait::async_trait]
impl KvBackend for StoreKv {
    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvFailure> {
        self.0.kv_get(tenant, plugin, key).await.map_err(store_failure)
    }

    async fn kv_set(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota_bytes: u64,
    ) -> Result<(), KvFailure> {
        self.0
            .kv_set(tenant, plugin, key, value, quota_bytes)
            .await
            .map_err(store_failure)
    }

    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> Result<(), KvFailure> {
        self.0
            .kv_delete(tenant, plugin, key)
            .await
            .map(drop)
            .map_err(store_failure)
    }
}
