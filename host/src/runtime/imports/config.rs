//! `config`: the plugin's own `[config]` table from its manifest.

use crate::runtime::bindings::config;
use crate::runtime::error::CapabilityDenied;
use crate::runtime::state::PluginState;

impl config::Host for PluginState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        if !self.identity.grants.config {
            return Err(CapabilityDenied("config").into());
        }
        Ok(self.identity.config.get(&key).cloned())
    }

    fn all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        if !self.identity.grants.config {
            return Err(CapabilityDenied("config").into());
        }
        Ok(self
            .identity
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
