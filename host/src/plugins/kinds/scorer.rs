//! The `scorer` kind. A scorer scores leads 0..1 (`score(leads)`, one score per lead).
//!
//! Everything the host knows of this kind besides the WIT world itself:
//! its world and manifest name, its main export, its typed pre-instantiation
//! and the call into it with the input's wire size counted against the cap.

use wasmtime::Store;

use super::WorldPre;
use crate::plugins::loaded::LoadedPlugin;
use crate::plugins::manifest::PluginKind;
use crate::plugins::shadow::{SCORE_TOLERANCE, ShadowRunner, ShadowSummary, isolated};
use crate::runtime::PluginError;
use crate::runtime::bindings::scorer;
use crate::runtime::bindings::types::{Lead, PluginInfo, Score};
use crate::runtime::state::{CallScope, PluginState};
use crate::runtime::wire_size::WireSize;

/// The WIT world's name, also the manifest's `kind = "…"`.
pub(crate) const WORLD: &str = "scorer";

/// The world's main export besides `describe`.
pub(crate) const MAIN_EXPORT: &str = "score";

/// The world's typed pre-instantiation.
pub(crate) type Pre = scorer::ScorerPre<PluginState>;

/// `describe` on a fresh instance.
pub(super) async fn describe(pre: &Pre, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
    pre.instantiate_async(&mut *store)
        .await?
        .call_describe(&mut *store)
        .await
}

impl LoadedPlugin {
    /// Scorer: one score per lead, in order, each within 0..=1.
    pub async fn score(&self, scope: CallScope, leads: &[Lead]) -> Result<Vec<Score>, PluginError> {
        let WorldPre::Scorer(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Scorer));
        };
        let result = self
            .guarded(
                scope,
                MAIN_EXPORT,
                leads.wire_size(),
                async |store: &mut Store<PluginState>| {
                    pre.instantiate_async(&mut *store)
                        .await?
                        .call_score(&mut *store, leads)
                        .await
                },
            )
            .await?;
        // Each score's range was checked at the boundary (`CheckOutput for Score`).
        let scores = self.expect_len(MAIN_EXPORT, self.plugin_result(result)?, leads.len())?;
        Ok(scores)
    }
}

/// The shadow comparison: the candidate sees the same input; the outputs are recorded side by side.
impl ShadowRunner {
    /// Scores `leads` with the candidate and records each lead's two scores.
    /// `None` when no candidate is installed.
    pub async fn score(
        &self,
        active: &LoadedPlugin,
        scope: CallScope,
        leads: &[Lead],
        active_scores: &[Score],
    ) -> Option<ShadowSummary> {
        let candidate = self.candidate(active)?;
        let answered = candidate.score(isolated(scope), leads).await;
        let pairs = leads.iter().zip(active_scores).enumerate().map(|(i, (lead, mine))| {
            let (theirs, agree) = match &answered {
                Ok(scores) => {
                    let theirs = &scores[i];
                    (show_score(theirs), (theirs.value - mine.value).abs() <= SCORE_TOLERANCE)
                }
                Err(error) => (format!("error: {error}"), false),
            };
            (lead.email.clone(), show_score(mine), theirs, agree)
        });
        self.record(active, &candidate, pairs.collect()).await
    }
}

fn show_score(score: &Score) -> String {
    format!("{:.3} ({})", score.value, score.reasons.join("; "))
}
