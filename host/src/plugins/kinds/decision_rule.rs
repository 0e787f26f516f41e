//! The `decision-rule` kind. A decision rule turns a campaign snapshot into actions (`decide(snapshot)`).
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
use crate::runtime::bindings::decision_rule;
use crate::runtime::bindings::types::{CampaignSnapshot, Decision, PluginInfo};
use crate::runtime::state::{CallScope, PluginState};
use crate::runtime::wire_size::WireSize;

/// The WIT world's name, also the manifest's `kind = "…"`.
pub(crate) const WORLD: &str = "decision-rule";

/// The world's main export besides `describe`.
pub(crate) const MAIN_EXPORT: &str = "decide";

/// The world's typed pre-instantiation.
pub(crate) type Pre = decision_rule::DecisionRulePre<PluginState>;

/// `describe` on a fresh instance.
pub(super) async fn describe(pre: &Pre, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
    pre.instantiate_async(&mut *store)
        .await?
        .call_describe(&mut *store)
        .await
}

impl LoadedPlugin {
    /// Decision rule: actions for one campaign.
    pub async fn decide(&self, scope: CallScope, snapshot: &CampaignSnapshot) -> Result<Vec<Decision>, PluginError> {
        let WorldPre::DecisionRule(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::DecisionRule));
        };
        self.guarded(
            scope,
            MAIN_EXPORT,
            snapshot.wire_size(),
            async |store: &mut Store<PluginState>| {
                pre.instantiate_async(&mut *store)
                    .await?
                    .call_decide(&mut *store, snapshot)
                    .await
            },
        )
        .await
    }
}

/// The shadow comparison: the candidate sees the same input; the outputs are recorded side by side.
impl ShadowRunner {
    /// Runs the candidate rule on `snapshot`; `input` names it (the campaign).
    /// They agree when they return the same actions (reasons may differ).
    pub async fn decide(
        &self,
        active: &LoadedPlugin,
        scope: CallScope,
        input: &str,
        snapshot: &CampaignSnapshot,
        active_decisions: &[Decision],
    ) -> Option<ShadowSummary> {
        let candidate = self.candidate(active)?;
        let (theirs, agree) = match candidate.decide(isolated(scope), snapshot).await {
            Ok(decisions) => (
                show_decisions(&decisions),
                actions(&decisions) == actions(active_decisions),
            ),
            Err(error) => (format!("error: {error}"), false),
        };
        self.record(
            active,
            &candidate,
            vec![(input.to_string(), show_decisions(active_decisions), theirs, agree)],
        )
        .await
    }
}

fn actions(decisions: &[Decision]) -> Vec<String> {
    decisions.iter().map(|d| format!("{:?}", d.action)).collect()
}

fn show_decisions(decisions: &[Decision]) -> String {
    if decisions.is_empty() {
        return "no action".into();
    }
    decisions
        .iter()
        .map(|d| format!("{:?} ({})", d.action, d.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
