//! The `lead-source` kind. A lead source produces leads, a page at a time (`next-page(cursor, limit)`).
//!
//! Everything the host knows of this kind besides the WIT world itself:
//! its world and manifest name, its main export, its typed pre-instantiation
//! and the call into it with the input's wire size counted against the cap.

use wasmtime::Store;

use super::WorldPre;
use crate::plugins::loaded::LoadedPlugin;
use crate::plugins::manifest::PluginKind;
use crate::runtime::PluginError;
use crate::runtime::bindings::lead_source;
use crate::runtime::bindings::types::{LeadPage, PluginInfo};
use crate::runtime::state::{CallScope, PluginState};

/// The WIT world's name, also the manifest's `kind = "…"`.
pub(crate) const WORLD: &str = "lead-source";

/// The world's main export besides `describe`.
pub(crate) const MAIN_EXPORT: &str = "next-page";

/// The world's typed pre-instantiation.
pub(crate) type Pre = lead_source::LeadSourcePre<PluginState>;

/// `describe` on a fresh instance.
pub(super) async fn describe(pre: &Pre, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
    pre.instantiate_async(&mut *store)
        .await?
        .call_describe(&mut *store)
        .await
}

impl LoadedPlugin {
    /// Lead source: the page after `cursor`.
    pub async fn next_page(&self, scope: CallScope, cursor: Option<&str>, limit: u32) -> Result<LeadPage, PluginError> {
        let WorldPre::LeadSource(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::LeadSource));
        };
        let result = self
            .guarded(
                scope,
                MAIN_EXPORT,
                cursor.map_or(0, |c| c.len()),
                async |store: &mut Store<PluginState>| {
                    pre.instantiate_async(&mut *store)
                        .await?
                        .call_next_page(&mut *store, cursor, limit)
                        .await
                },
            )
            .await?;
        self.plugin_result(result)
    }
}
