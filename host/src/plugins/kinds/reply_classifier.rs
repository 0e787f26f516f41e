//! The `reply-classifier` kind. A reply classifier labels one inbound reply (`classify(reply)`).
//!
//! Everything the host knows of this kind besides the WIT world itself:
//! its world and manifest name, its main export, its typed pre-instantiation
//! and the call into it with the input's wire size counted against the cap.

use wasmtime::Store;

use super::WorldPre;
use crate::plugins::loaded::LoadedPlugin;
use crate::plugins::manifest::PluginKind;
use crate::runtime::PluginError;
use crate::runtime::bindings::reply_classifier;
use crate::runtime::bindings::types::{Classification, InboundReply, PluginInfo};
use crate::runtime::state::{CallScope, PluginState};
use crate::runtime::wire_size::WireSize;

/// The WIT world's name, also the manifest's `kind = "…"`.
pub(crate) const WORLD: &str = "reply-classifier";

/// The world's main export besides `describe`.
pub(crate) const MAIN_EXPORT: &str = "classify";

/// The world's typed pre-instantiation.
pub(crate) type Pre = reply_classifier::ReplyClassifierPre<PluginState>;

/// `describe` on a fresh instance.
pub(super) async fn describe(pre: &Pre, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
    pre.instantiate_async(&mut *store)
        .await?
        .call_describe(&mut *store)
        .await
}

impl LoadedPlugin {
    /// Reply classifier: a label for one reply.
    pub async fn classify(&self, scope: CallScope, reply: &InboundReply) -> Result<Classification, PluginError> {
        let WorldPre::ReplyClassifier(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::ReplyClassifier));
        };
        self.guarded(
            scope,
            MAIN_EXPORT,
            reply.wire_size(),
            async |store: &mut Store<PluginState>| {
                pre.instantiate_async(&mut *store)
                    .await?
                    .call_classify(&mut *store, reply)
                    .await
            },
        )
        .await
    }
}
