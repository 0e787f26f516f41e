//! What every step of one cycle shares: the store, the plugins, the clock,
//! the campaign, the transports, and what earlier steps left for later ones.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc, WeekdaySet};

use super::Transports;
use super::report::{MAX_LISTED, StateChange};
use crate::domain::lifecycle::{self, LeadState};
use crate::domain::model::{Campaign, CampaignStatus, Lead, LeadTransition};
use crate::domain::template::{Template, TemplateError};
use crate::domain::window::SendWindow;
use crate::plugins::{LoadedPlugin, PluginKind, PluginRegistry};
use crate::runtime::imports::kv::StoreKv;
use crate::runtime::{CallScope, Runtime};
use crate::store::Store;

/// One sequence step, parsed.
#[derive(Debug, Clone)]
pub struct ParsedStep {
    /// Subject template.
    pub subject: Template,
    /// Body template.
    pub body: Template,
    /// Wait after the previous step.
    pub delay: TimeDelta,
}

/// A positive reply waiting for its alert.
#[derive(Debug, Clone)]
pub struct PositiveReply {
    /// The lead.
    pub lead_id: i64,
    /// The lead's email.
    pub email: String,
    /// The stored inbound message.
    pub inbound_id: i64,
    /// Its Message-ID.
    pub message_id: String,
    /// The label (`interested`, `question`).
    pub label: String,
    /// Subject of the reply.
    pub subject: String,
    /// The start of the reply's text.
    pub excerpt: String,
}

/// The state of one cycle, handed to each step in turn.
pub struct CycleContext<'a> {
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
    /// The campaign, as loaded at the start (status refreshed by `decide`).
    pub campaign: Campaign,
    /// Mail in and out.
    pub transports: Transports,
    /// Where leads go after the last step without a reply (NURTURE or DEAD).
    pub after_last_step: LeadState,
    /// The sequence, parsed (empty when a template does not parse: see `sequence_error`).
    pub steps: Vec<ParsedStep>,
    /// Why the sequence could not be parsed, if it could not.
    pub sequence_error: Option<String>,
    /// The send window (`None` with a reason in `window_error` when invalid).
    pub window: Option<SendWindow>,
    /// Why the window is invalid, if it is.
    pub window_error: Option<String>,
    /// Positive replies found by `classify`, alerted by `alert`.
    pub positive_replies: Vec<PositiveReply>,
    /// The metrics computed by `metrics`, read by `decide`.
    pub metrics: Option<super::metrics::CampaignMetrics>,
    /// Lead state changes so far.
    pub changes: Vec<StateChange>,
    /// Counts of changes by `FROM→TO`.
    pub change_counts: std::collections::BTreeMap<String, u64>,
    /// Alerts raised so far (one line each).
    pub alerts: Vec<String>,
    /// Decisions applied so far.
    pub decisions: Vec<String>,
    /// Shadow candidates to run beside the active versions, if any.
    pub shadow: Option<std::sync::Arc<crate::plugins::shadow::ShadowRunner>>,
}

impl<'a> CycleContext<'a> {
    /// A context for one cycle of `campaign` at `now`.
    pub fn new(
        store: Arc<dyn Store>,
        runtime: &'a Runtime,
        registry: &'a PluginRegistry,
        now: DateTime<Utc>,
        campaign: Campaign,
        transports: Transports,
    ) -> Self {
        let after_last_step = campaign.config.after_last_step.state();
        let (steps, sequence_error) = match parse_steps(&campaign) {
            Ok(steps) => (steps, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let (window, window_error) = match parse_window(&campaign) {
            Ok(window) => (Some(window), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            store,
            runtime,
            registry,
            now,
            tenant: campaign.tenant_id.clone(),
            campaign,
            transports,
            after_last_step,
            steps,
            sequence_error,
            window,
            window_error,
            positive_replies: Vec::new(),
            metrics: None,
            changes: Vec::new(),
            change_counts: Default::default(),
            alerts: Vec::new(),
            decisions: Vec::new(),
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
    pub fn plugin(&self, name: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, String> {
        let plugin = self.registry.get(name).ok_or_else(|| {
            format!("plugin {name:?} is bound to the campaign but not loaded; see `cam plugins list`")
        })?;
        if plugin.kind() != kind {
            return Err(format!(
                "plugin {name:?} is a {}, not a {}",
                plugin.kind().as_str(),
                kind.as_str()
            ));
        }
        if plugin.health().is_quarantined() {
            return Err(format!(
                "plugin {name}@{} is quarantined after repeated failures; load a fixed version",
                plugin.version()
            ));
        }
        Ok(plugin)
    }

    /// Moves `lead` to `to` through the lifecycle and records why and which
    /// plugin version caused it. Errors are sentences for the step report.
    pub async fn move_lead(
        &mut self,
        lead: &Lead,
        to: LeadState,
        reason: &str,
        plugin_version: Option<String>,
    ) -> Result<(), String> {
        lifecycle::transition(lead.state, to).map_err(|e| e.to_string())?;
        let transition = LeadTransition {
            lead_id: lead.id,
            from: lead.state,
            to,
            reason: reason.to_string(),
            plugin_version: plugin_version.clone(),
            at: self.now,
        };
        self.store
            .transition_lead(&self.tenant, &transition)
            .await
            .map_err(|e| format!("could not record {} → {}: {e}", lead.state.as_str(), to.as_str()))?;
        self.record_move(lead, to, reason, plugin_version);
        Ok(())
    }

    /// Counts (and lists, up to the report's limit) a move the store has
    /// already recorded, e.g. in a batch.
    pub fn record_move(&mut self, lead: &Lead, to: LeadState, reason: &str, plugin_version: Option<String>) {
        *self
            .change_counts
            .entry(format!("{}→{}", lead.state.as_str(), to.as_str()))
            .or_default() += 1;
        if self.changes.len() < MAX_LISTED {
            self.changes.push(StateChange {
                email: lead.fields.email.clone(),
                from: lead.state.as_str().to_string(),
                to: to.as_str().to_string(),
                reason: reason.to_string(),
                plugin_version,
            });
        }
    }
}

fn parse_steps(campaign: &Campaign) -> Result<Vec<ParsedStep>, TemplateError> {
    campaign
        .config
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            Ok(ParsedStep {
                subject: Template::parse(&format!("step {} subject", i + 1), &step.subject)?,
                body: Template::parse(&format!("step {} body", i + 1), &step.body)?,
                delay: TimeDelta::hours(i64::from(step.delay_hours)),
            })
        })
        .collect()
}

fn parse_window(campaign: &Campaign) -> Result<SendWindow, String> {
    let window = &campaign.config.send_window;
    let tz: chrono_tz::Tz = window.fallback_time_zone.trim().parse().map_err(|_| {
        format!(
            "unknown fallback time zone {:?}; use an IANA name such as \"Europe/Berlin\"",
            window.fallback_time_zone
        )
    })?;
    let days = if window.weekdays.is_empty() {
        WeekdaySet::ALL
    } else {
        window.weekdays.iter().fold(WeekdaySet::EMPTY, |mut set, &day| {
            set.insert(day);
            set
        })
    };
    SendWindow::new(window.start, window.end, days, tz).map_err(|e| e.to_string())
}
