//! Loading, validating and holding plugins: manifests, allow-lists, the
//! loaded versions and their health.

pub mod health;
pub mod host_pattern;
pub mod loaded;
pub mod manifest;
pub mod registry;

pub use loaded::LoadedPlugin;
pub use manifest::{Manifest, PluginKind};
pub use registry::PluginRegistry;
