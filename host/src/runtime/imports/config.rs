//! `config`: the plugin's own `[config]` table from its manifest.

use crate::runtime::bindings::config;
use crate::runtime::bindings::types::Capability;
use crate::runtime::state::PluginState;

impl config::Host for PluginState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        // Ungranted in audit mode: no value.
        if !self.use_capability(Capability::Config, self.identity.grants.config)? {
            return Ok(None);
        }
        Ok(self.identity.config.get(&key).cloned())
    }

    fn all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        if !self.use_capability(Capability::Config, self.identity.grants.config)? {
            return Ok(Vec::new());
        }
        Ok(self
            .identity
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
