//! The `enricher` kind. An enricher adds facts to leads (`enrich(leads)`, one result per lead).
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
use crate::runtime::bindings::enricher;
use crate::runtime::bindings::types::{Enrichment, Lead, PluginInfo};
use crate::runtime::state::{CallScope, PluginState};
use crate::runtime::wire_size::WireSize;

/// The WIT world's name, also the manifest's `kind = "…"`.
pub(crate) const WORLD: &str = "enricher";

/// The world's main export besides `describe`.
pub(crate) const MAIN_EXPORT: &str = "enrich";

/// The world's typed pre-instantiation.
pub(crate) type Pre = enricher::EnricherPre<PluginState>;

/// `describe` on a fresh instance.
pub(super) async fn describe(pre: &Pre, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
    pre.instantiate_async(&mut *store)
        .await?
        .call_describe(&mut *store)
        .await
}

impl LoadedPlugin {
    /// Enricher: one result per lead, in order.
    pub async fn enrich(
        &self,
        scope: CallScope,
        leads: &[Lead],
    ) -> Result<Vec<Result<Enrichment, String>>, PluginError> {
        let WorldPre::Enricher(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Enricher));
        };
        let out = self
            .guarded(
                scope,
                MAIN_EXPORT,
                leads.wire_size(),
                async |store: &mut Store<PluginState>| {
                    pre.instantiate_async(&mut *store)
                        .await?
                        .call_enrich(&mut *store, leads)
                        .await
                },
            )
            .await?;
        self.expect_len(MAIN_EXPORT, out, leads.len())
    }
}

/// The shadow comparison: the candidate sees the same input; the outputs are recorded side by side.
impl ShadowRunner {
    /// Enriches `leads` with the candidate and records each lead's two results.
    pub async fn enrich(
        &self,
        active: &LoadedPlugin,
        scope: CallScope,
        leads: &[Lead],
        active_results: &[Result<Enrichment, String>],
    ) -> Option<ShadowSummary> {
        let candidate = self.candidate(active)?;
        let answered = candidate.enrich(isolated(scope), leads).await;
        let pairs = leads.iter().zip(active_results).enumerate().map(|(i, (lead, mine))| {
            let mine = format!("{mine:?}");
            let (theirs, agree) = match &answered {
                Ok(results) => {
                    let theirs = format!("{:?}", results[i]);
                    let agree = theirs == mine;
                    (theirs, agree)
                }
                Err(error) => (format!("error: {error}"), false),
            };
            (lead.email.clone(), mine, theirs, agree)
        });
        self.record(active, &candidate, pairs.collect()).await
    }
}
