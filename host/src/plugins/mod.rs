//! Loading, validating and holding plugins: manifests, allow-lists, the
//! loaded versions and their health, hot reload (`watch`), version history
//! (`versions`), the compile cache, shadow runs and fleet reload.

pub mod cache;
pub mod fleet;
pub mod health;
mod kinds;
pub mod loaded;
pub mod manifest;
pub mod registry;
pub mod reloader;
pub mod shadow;
pub mod store_kv;
pub mod versions;
pub mod watch;

pub use loaded::LoadedPlugin;
pub use manifest::{Manifest, PluginKind};
pub use registry::PluginRegistry;
pub use reloader::Reloader;
