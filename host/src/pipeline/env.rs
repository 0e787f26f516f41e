//! What every step of one cycle reads: the store, the plugins, the clock, the
//! campaign and its plan, the transports. Read-only: a step hands what it
//! found to later steps through its typed output ([`super::step::StepOutcome`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Transports;
use super::error::StepError;
use super::step::Moves;
use crate::domain::lifecycle::{self, LeadState};
use crate::domain::model::{Campaign, CampaignStatus, Lead, LeadTransition};
use crate::domain::plan::CampaignPlan;
use crate::plugins::store_kv::StoreKv;
use crate::plugins::{LoadedPlugin, PluginKind, PluginRegistry};
use crate::runtime::{CallScope, Runtime};
use crate::store::Store;

/// The inputs every step of one cycle shares.
pub struct CycleEnv<'a> {
    /// The shared store.
    pub store: Arc<dyn Store>,
    /// The plugin runtime.
    pub runtime: &'a Runtime,
    /// Active plugin versions by name.
    pub registry: &'a PluginRegistry,
    /// The cycle's "now" (one instant for the whole cycle, so it can be replayed).
    pub now: DateTime<Utc>,
    /// The tenant.
    pub tenant: String,
    /// The campaign, as loaded at the start of the cycle.
    pub campaign: Campaign,
    /// The campaign's sequence and window, parsed once.
    pub plan: CampaignPlan,
    /// Mail in and out.
    pub transports: Transports,
    /// Shadow candidates to run beside the active versions, if any.
    pub shadow: Option<Arc<crate::plugins::shadow::ShadowRunner>>,
}

impl<'a> CycleEnv<'a> {
    /// The environment of one cycle of `campaign` at `now`.
    pub fn new(
        store: Arc<dyn Store>,
        runtime: &'a Runtime,
        registry: &'a PluginRegistry,
        now: DateTime<Utc>,
        campaign: Campaign,
        transports: Transports,
    ) -> Self {
        Self {
            store,
            runtime,
            registry,
            now,
            tenant: campaign.tenant_id.clone(),
            plan: CampaignPlan::of(&campaign.config),
            campaign,
            transports,
            shadow: None,
        }
    }

    /// Whether the campaign is RUNNING (outreach steps run only then).
    pub fn running(&self) -> bool {
        self.campaign.status == CampaignStatus::Running
    }

    /// Why outreach steps are skipped.
    pub fn not_running_note(&self) -> String {
        format!(
            "campaign is {}: {} (by {})",
            self.campaign.status.as_str(),
            self.campaign.status_reason,
            self.campaign.status_actor
        )
    }

    /// A plugin call scope for this tenant at the cycle's clock, with kv in the store.
    pub fn scope(&self) -> CallScope {
        let mut scope = self
            .runtime
            .scope(&self.tenant, Some(Arc::new(StoreKv(self.store.clone()))));
        scope.now_ms = self.now.timestamp_millis();
        scope
    }

    /// The active plugin `name`, checked to be of `kind` and not quarantined.
    pub fn plugin(&self, name: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, StepError> {
        let plugin = self
            .registry
            .get(name)
            .ok_or_else(|| StepError::NotLoaded { name: name.to_string() })?;
        if plugin.kind() != kind {
            return Err(StepError::WrongKind {
                name: name.to_string(),
                actual: plugin.kind().as_str(),
                expected: kind.as_str(),
            });
        }
        if plugin.health().is_quarantined() {
            return Err(StepError::Quarantined {
                name: name.to_string(),
                version: plugin.version().to_string(),
            });
        }
        Ok(plugin)
    }

    /// Moves `lead` to `to` through the lifecycle, records why and which
    /// plugin version caused it, and adds the move to `moves`.
    pub async fn move_lead(
        &self,
        moves: &mut Moves,
        lead: &Lead,
        to: LeadState,
        reason: &str,
        plugin_version: Option<String>,
    ) -> Result<(), StepError> {
        lifecycle::transition(lead.state, to)?;
        let transition = LeadTransition {
            lead_id: lead.id,
            from: lead.state,
            to,
            reason: reason.to_string(),
            plugin_version: plugin_version.clone(),
            actor: None,
            at: self.now,
        };
        self.store
            .transition_lead(&self.tenant, &transition)
            .await
            .map_err(|source| StepError::RecordMove {
                from: lead.state,
                to,
                source,
            })?;
        moves.record(lead, to, reason, plugin_version);
        Ok(())
    }
}
