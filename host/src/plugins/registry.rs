//! The active plugin versions by name, the shadow candidates beside them,
//! and the files of the plugins folder that failed to load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::loaded::LoadedPlugin;
use crate::runtime::{CallScope, PluginError, Runtime};

/// A file in the plugins folder that did not load.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Why.
    pub error: PluginError,
}

/// The `.wasm` files of a folder, sorted by name.
pub fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    files.sort();
    Ok(files)
}

/// The plugins that serve calls, by name. Swapping an entry is atomic: calls
/// that already hold the old `Arc` finish on it; the next lookup gets the new one.
#[derive(Debug, Default)]
pub struct PluginRegistry {
    active: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
    shadows: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
    /// Which plugin name each file of the plugins folder serves.
    files: RwLock<BTreeMap<PathBuf, String>>,
    /// The last failure of each file that does not load; cleared when it does.
    failures: RwLock<BTreeMap<PathBuf, LoadFailure>>,
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `.wasm` in `dir` (with its manifest). Files that fail are
    /// returned beside the registry, never fatal: the others still serve.
    pub async fn load_dir(
        runtime: &Runtime,
        dir: &Path,
        scope: CallScope,
    ) -> std::io::Result<(Self, Vec<LoadFailure>)> {
        let registry = PluginRegistry::new();
        let mut failures = Vec::new();
        for file in wasm_files(dir)? {
            match LoadedPlugin::load_file(runtime, &file, scope.clone()).await {
                Ok(plugin) => {
                    registry.activate_from_file(&file, Arc::new(plugin));
                }
                Err(error) => {
                    registry.record_failure(&file, error.clone());
                    failures.push(LoadFailure { file, error });
                }
            }
        }
        Ok((registry, failures))
    }

    /// Makes `plugin` the active version of its name; returns the one it replaced.
    pub fn activate(&self, plugin: LoadedPlugin) -> Option<Arc<LoadedPlugin>> {
        self.activate_shared(Arc::new(plugin))
    }

    /// Removes a plugin; steps that need it then report it missing.
    pub fn remove(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        write(&self.active).remove(name)
    }

    /// The active version of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        read(&self.active).get(name).cloned()
    }

    /// Every active plugin, by name.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        read(&self.active).values().cloned().collect()
    }

    /// Makes an already shared version active (rollback to a version that
    /// is still loaded); returns the one it replaced.
    pub fn activate_shared(&self, plugin: Arc<LoadedPlugin>) -> Option<Arc<LoadedPlugin>> {
        write(&self.active).insert(plugin.name().to_string(), plugin)
    }

    /// Makes `plugin`, loaded from `file` of the plugins folder, active and
    /// clears the file's failure. If the file served another name before
    /// (its manifest renamed it), that name is unloaded.
    pub fn activate_from_file(&self, file: &Path, plugin: Arc<LoadedPlugin>) -> Option<Arc<LoadedPlugin>> {
        let name = plugin.name().to_string();
        let before = write(&self.files).insert(file.to_path_buf(), name.clone());
        if let Some(old_name) = before.filter(|old| *old != name) {
            self.remove(&old_name);
        }
        write(&self.failures).remove(file);
        self.activate_shared(plugin)
    }

    /// The file was deleted: unloads the plugin it served and forgets its
    /// failure. Returns the unloaded version.
    pub fn remove_file(&self, file: &Path) -> Option<Arc<LoadedPlugin>> {
        write(&self.failures).remove(file);
        let name = write(&self.files).remove(file)?;
        self.remove(&name)
    }

    /// The plugin name `file` serves, if it loaded.
    pub fn name_of_file(&self, file: &Path) -> Option<String> {
        read(&self.files).get(file).cloned()
    }

    /// Records why `file` did not load; the serving version (if any) stays.
    pub fn record_failure(&self, file: &Path, error: PluginError) {
        write(&self.failures).insert(
            file.to_path_buf(),
            LoadFailure {
                file: file.to_path_buf(),
                error,
            },
        );
    }

    /// Forgets the failure of `file` (it loaded since).
    pub fn clear_failure(&self, file: &Path) {
        write(&self.failures).remove(file);
    }

    /// The files that failed their last load, by path.
    pub fn failures(&self) -> Vec<LoadFailure> {
        read(&self.failures).values().cloned().collect()
    }

    /// The shadow candidate of `name`: the pipeline gives it the same inputs
    /// as the active version and records (never applies) its outputs; see
    /// [`crate::plugins::shadow`].
    pub fn shadow_of(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        read(&self.shadows).get(name).cloned()
    }

    /// Installs a shadow candidate beside the active version of its name.
    pub fn set_shadow(&self, plugin: Arc<LoadedPlugin>) -> Option<Arc<LoadedPlugin>> {
        write(&self.shadows).insert(plugin.name().to_string(), plugin)
    }

    /// Removes the shadow candidate of `name`.
    pub fn remove_shadow(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        write(&self.shadows).remove(name)
    }

    /// Every shadow candidate.
    pub fn shadows(&self) -> Vec<Arc<LoadedPlugin>> {
        read(&self.shadows).values().cloned().collect()
    }
}
