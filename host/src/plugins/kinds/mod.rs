//! One module per plugin kind, each owning what the host knows of that kind:
//! its world and manifest name, its main export, its typed
//! pre-instantiation, `describe`, its call (with the input's wire size
//! counted against the cap) and its shadow comparison. [`PluginKind`] and
//! [`WorldPre`] match on every kind, so adding a kind is a compile error in
//! each place that must learn it; nothing dispatches on a kind's name.
//!
//! Adding a kind (say `message-composer`) touches:
//! - `wit/worlds.wit` (the world) and `wit/types.wit` (its input and output records);
//! - `host/src/runtime/bindings.rs` (one `plugin_world!` line),
//!   `host/src/runtime/wire_size.rs` and `host/src/runtime/output_check.rs`
//!   (`WireSize` and `CheckOutput` for the new records, which the compiler
//!   asks for through the call guard);
//! - `host/src/plugins/kinds/message_composer.rs` (new) and this file (the
//!   module, a `WorldPre` variant, its two match arms);
//! - `host/src/plugins/manifest.rs` (the `PluginKind` variant, `ALL`, two match arms);
//! - `host/src/cli/plugins/sample.rs` and `check.rs` (the sample input, `--input`
//!   parsing and the call for `cam plugins check`);
//! - `host/src/cli/scaffold/{rust,js,python}.rs` (the templates) and
//!   `host/src/cli/campaigns.rs` (binding a plugin found in the folder);
//! - `host/src/domain/{campaign_def,campaign_convert,model}.rs` (the campaign's binding);
//! - the pipeline step that calls it (`host/src/pipeline/`);
//! - `plugins/sdk/src/{bindings,kinds,lib}.rs` (the guest-side world and export macro).

pub(crate) mod decision_rule;
pub(crate) mod enricher;
pub(crate) mod lead_source;
pub(crate) mod reply_classifier;
pub(crate) mod scorer;

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::manifest::PluginKind;
use crate::runtime::bindings::types::PluginInfo;
use crate::runtime::state::PluginState;

/// The pre-instantiated component, typed by world.
#[derive(Clone)]
pub(crate) enum WorldPre {
    LeadSource(lead_source::Pre),
    Enricher(enricher::Pre),
    Scorer(scorer::Pre),
    ReplyClassifier(reply_classifier::Pre),
    DecisionRule(decision_rule::Pre),
}

impl WorldPre {
    /// Types `instance_pre` as `kind`'s world; fails when the component does
    /// not implement it.
    pub(crate) fn new(kind: PluginKind, instance_pre: InstancePre<PluginState>) -> wasmtime::Result<WorldPre> {
        Ok(match kind {
            PluginKind::LeadSource => WorldPre::LeadSource(lead_source::Pre::new(instance_pre)?),
            PluginKind::Enricher => WorldPre::Enricher(enricher::Pre::new(instance_pre)?),
            PluginKind::Scorer => WorldPre::Scorer(scorer::Pre::new(instance_pre)?),
            PluginKind::ReplyClassifier => WorldPre::ReplyClassifier(reply_classifier::Pre::new(instance_pre)?),
            PluginKind::DecisionRule => WorldPre::DecisionRule(decision_rule::Pre::new(instance_pre)?),
        })
    }

    /// `describe` on a fresh instance in `store`.
    pub(crate) async fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
        match self {
            WorldPre::LeadSource(pre) => lead_source::describe(pre, store).await,
            WorldPre::Enricher(pre) => enricher::describe(pre, store).await,
            WorldPre::Scorer(pre) => scorer::describe(pre, store).await,
            WorldPre::ReplyClassifier(pre) => reply_classifier::describe(pre, store).await,
            WorldPre::DecisionRule(pre) => decision_rule::describe(pre, store).await,
        }
    }
}
