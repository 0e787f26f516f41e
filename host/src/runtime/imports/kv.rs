//! `kv`: a small key-value store per tenant and plugin, kept in the database.

use crate::runtime::bindings::kv::{self, Error};
use crate::runtime::bindings::types::Capability;
use crate::runtime::state::PluginState;

pub use crate::runtime::kv_backend::{KvBackend, KvFailure};

/// Longest key accepted.
const MAX_KEY_BYTES: usize = 256;

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
