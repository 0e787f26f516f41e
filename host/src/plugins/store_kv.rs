//! The `kv` import backed by the database: the runtime's [`KvBackend`]
//! over the [`Store`].

use std::sync::Arc;

use crate::runtime::kv_backend::{KvBackend, KvFailure};
use crate::store::{Store, StoreError};

/// The `kv` import backed by the database through the [`Store`].
pub struct StoreKv(pub Arc<dyn Store>);

fn store_failure(error: StoreError) -> KvFailure {
    match error {
        StoreError::QuotaExceeded { used, requested, limit } => KvFailure::QuotaExceeded {
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
