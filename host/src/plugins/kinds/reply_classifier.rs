//! The `reply-classifier` kind. A reply classifier labels one inbound reply (`classify(reply)`).
//!
//! Everything the host knows of this kind besides the WIT world itself:
//! its world and manifest name, its main export, its typed pre-instantiation
//! and the call into it with the input's wire size counted against the cap.

use wasmtime::Store;

use super::WorldPre;
use crate::plugins::loaded::LoadedPlugin;
use crate::plugins::manifest::PluginKind;
use crate::plugins::shadow::{ShadowRunner, ShadowSummary, isolated};
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

/// The shadow comparison: the candidate sees the same input; the outputs are recorded side by side.
impl ShadowRunner {
    /// Classifies `reply` with the candidate; `input` names it (its Message-ID).
    pub async fn classify(
        &self,
        active: &LoadedPlugin,
        scope: CallScope,
        input: &str,
        reply: &InboundReply,
        active_label: &Classification,
    ) -> Option<ShadowSummary> {
        let candidate = self.candidate(active)?;
        let (theirs, agree) = match candidate.classify(isolated(scope), reply).await {
            Ok(label) => (
                show_label(&label),
                format!("{:?}", label.label) == format!("{:?}", active_label.label),
            ),
            Err(error) => (format!("error: {error}"), false),
        };
        self.record(
            active,
            &candidate,
            vec![(input.to_string(), show_label(active_label), theirs, agree)],
        )
        .await
    }
}

fn show_label(label: &Classification) -> String {
    format!("{:?} {:.2} ({})", label.label, label.confidence, label.reason)
}
