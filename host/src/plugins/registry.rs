//! The active plugin versions by name.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::loaded::LoadedPlugin;

/// The plugins that serve calls, by name. Swapping an entry is atomic: calls
/// that already hold the old `Arc` finish on it; the next lookup gets the new one.
#[derive(Debug, Default)]
pub struct PluginRegistry {
    active: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `plugin` the active version of its name; returns the one it replaced.
    pub fn activate(&self, plugin: LoadedPlugin) -> Option<Arc<LoadedPlugin>> {
        let plugin = Arc::new(plugin);
        let mut active = self.active.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        active.insert(plugin.name().to_string(), plugin)
    }

    /// Removes a plugin; steps that need it then report it missing.
    pub fn remove(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.active.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(name)
    }

    /// The active version of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.active.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(name).cloned()
    }

    /// Every active plugin, by name.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        self.active.read().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect()
    }
}
