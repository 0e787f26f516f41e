//! The entities the store keeps: tenants, campaigns, leads, emails, replies.
//!
//! Plain data with serde. Every entity belongs to a tenant; ids are database
//! row ids (`i64`), tenants are named by a short string id (`default` for
//! single-tenant installs). Timestamps are UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::lifecycle::LeadState;

/// The tenant id single-tenant installs use.
pub const DEFAULT_TENANT: &str = "default";

/// One customer of a hosted deployment; owns every other row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Short stable id, e.g. `default`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// When the tenant was created.
    pub created_at: DateTime<Utc>,
    /// When the tenant was disabled: its campaigns are not claimed and its
    /// tokens are refused. `None` while it is active.
    pub disabled_at: Option<DateTime<Utc>>,
    /// What the hosting operator lets it use.
    pub ceilings: TenantCeilings,
}

/// Ceilings the hosting operator sets on one tenant, below the process's
/// own limits: its manifests cannot ask for more, and one tenant cannot take
/// the pool from the others. `None` keeps the process's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantCeilings {
    /// Most memory one plugin call may use, in MiB.
    #[serde(default)]
    pub max_memory_mib: Option<u32>,
    /// Longest one plugin call may run, in milliseconds.
    #[serde(default)]
    pub max_timeout_ms: Option<u64>,
    /// Most kv storage one plugin of the tenant may hold, in bytes.
    #[serde(default)]
    pub max_kv_bytes: Option<u64>,
    /// Most plugin calls of the tenant running at once in one process.
    #[serde(default)]
    pub max_concurrent_calls: Option<u32>,
}

impl Tenant {
    /// `active` or `disabled`, as lists show it.
    pub fn status(&self) -> &'static str {
        if self.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        }
    }
}

/// Whether a campaign is being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    /// Cycles run.
    Running,
    /// Cycles are skipped until someone resumes it.
    Paused,
    /// The goal was reached or the campaign was closed.
    Done,
}

impl CampaignStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Running => "RUNNING",
            CampaignStatus::Paused => "PAUSED",
            CampaignStatus::Done => "DONE",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RUNNING" => Some(CampaignStatus::Running),
            "PAUSED" => Some(CampaignStatus::Paused),
            "DONE" => Some(CampaignStatus::Done),
            _ => None,
        }
    }
}

/// A sending mailbox with its own rolling 24 h cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The From address.
    pub address: String,
    /// At most this many emails from this mailbox per rolling 24 hours.
    pub daily_cap: u32,
}

/// When emails may be sent, in the recipient's local time, as configured and
/// stored. The campaign plan checks it into the one
/// [`SendWindow`](super::window::SendWindow) the cycle reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindowSpec {
    /// Local time of day sending may start.
    pub start: NaiveTime,
    /// Local time of day sending must stop.
    pub end: NaiveTime,
    /// Days of the week sending is allowed; empty means every day.
    #[serde(default)]
    pub weekdays: Vec<Weekday>,
    /// IANA zone used when the lead's zone is unknown or invalid.
    pub fallback_time_zone: String,
}

/// One email of a campaign's sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceStep {
    /// Subject template over lead fields.
    pub subject: String,
    /// Body template over lead fields.
    pub body: String,
    /// Wait this long after the previous step (or after contact for step 0).
    pub delay_hours: u32,
}

/// The plugins a campaign uses, by kind, named as in their manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginBindings {
    /// Lead sources, called in order.
    #[serde(default)]
    pub lead_sources: Vec<String>,
    /// Enrichers, applied in order.
    #[serde(default)]
    pub enrichers: Vec<String>,
    /// The scorer, if any.
    #[serde(default)]
    pub scorer: Option<String>,
    /// The reply classifier, if any.
    #[serde(default)]
    pub reply_classifier: Option<String>,
    /// Decision rules, consulted in order.
    #[serde(default)]
    pub decision_rules: Vec<String>,
}

/// A campaign's configuration as the operator writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    /// Unique per tenant.
    pub name: String,
    /// Number of QUALIFIED leads after which the campaign is done.
    pub goal_qualified: u32,
    /// At most this many emails per rolling 24 hours for the whole campaign.
    pub daily_cap: u32,
    /// Mailboxes to send from.
    pub mailboxes: Vec<Mailbox>,
    /// When emails may go out.
    pub send_window: SendWindowSpec,
    /// The sequence; step 0 is the first email.
    pub steps: Vec<SequenceStep>,
    /// Leads scoring below this are not contacted.
    pub score_threshold: f64,
    /// Plugins by kind.
    pub plugins: PluginBindings,
    /// Really send over SMTP; `false` (the default) writes to the outbox.
    #[serde(default)]
    pub live: bool,
    /// What the campaign is for, in words (the number is `goal_qualified`).
    #[serde(default)]
    pub goal: String,
    /// Where a lead goes when the last step got no reply.
    #[serde(default)]
    pub after_last_step: AfterLastStep,
}

/// Where a lead goes after the last step of its sequence went unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AfterLastStep {
    /// Keep warm: a later campaign may re-engage it.
    #[default]
    Nurture,
    /// Stop for good.
    Dead,
}

impl AfterLastStep {
    /// The lifecycle state this leads to.
    pub fn state(self) -> LeadState {
        match self {
            AfterLastStep::Nurture => LeadState::Nurture,
            AfterLastStep::Dead => LeadState::Dead,
        }
    }

    /// The name used in campaign files and output (`nurture`, `dead`).
    pub fn as_str(self) -> &'static str {
        match self {
            AfterLastStep::Nurture => "nurture",
            AfterLastStep::Dead => "dead",
        }
    }
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// The configuration.
    #[serde(flatten)]
    pub config: NewCampaign,
    /// Current status.
    pub status: CampaignStatus,
    /// Why the status last changed.
    pub status_reason: String,
    /// Who changed it last (an operator, `decision-rule:<name>@<version>`...).
    pub status_actor: String,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// When the campaign was created.
    pub created_at: DateTime<Utc>,
}

/// A lead as a source produces it, before it is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewLead {
    /// Normalized (trimmed, lower-case) address; the store lower-cases again defensively.
    pub email: String,
    /// Given name, empty when unknown.
    pub first_name: String,
    /// Family name, empty when unknown.
    pub last_name: String,
    /// Company name.
    pub company: String,
    /// Company domain; when empty the store uses the address's domain.
    pub domain: String,
    /// Job title.
    pub title: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// IANA time zone, empty when unknown.
    pub time_zone: String,
    /// Company head count, when known.
    pub employees: Option<u32>,
    /// Anything else the source knows.
    pub attributes: BTreeMap<String, String>,
    /// The lead-source plugin that found the lead.
    pub source_plugin: String,
    /// That plugin's version (sha256 or semver) at the time.
    pub source_version: String,
}

/// A stored lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// The campaign that discovered the lead.
    pub campaign_id: i64,
    /// Fields as imported and enriched.
    #[serde(flatten)]
    pub fields: NewLead,
    /// Score in 0..=1, once scored.
    pub score: Option<f64>,
    /// Why the scorer gave that score.
    pub score_reasons: Vec<String>,
    /// The scorer version that produced the score.
    pub scorer_version: Option<String>,
    /// Lifecycle state.
    pub state: LeadState,
    /// Number of sequence steps already sent (so the next one is this index).
    pub current_step: u32,
    /// When the pipeline should next act on this lead (follow-up, OOO return).
    pub next_action_at: Option<DateTime<Utc>>,
    /// When the lead was stored.
    pub created_at: DateTime<Utc>,
    /// When the lead last changed.
    pub updated_at: DateTime<Utc>,
}

/// What an enricher learned; `None` leaves a field as it was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadEnrichment {
    /// New company name.
    pub company: Option<String>,
    /// New company domain.
    pub domain: Option<String>,
    /// New title.
    pub title: Option<String>,
    /// New country.
    pub country: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New head count.
    pub employees: Option<u32>,
    /// Attributes to add or overwrite.
    pub attributes: BTreeMap<String, String>,
}

/// One recorded lifecycle transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadTransition {
    /// The lead.
    pub lead_id: i64,
    /// State before.
    pub from: LeadState,
    /// State after.
    pub to: LeadState,
    /// Why, in words.
    pub reason: String,
    /// The plugin version that caused it, if a plugin did.
    pub plugin_version: Option<String>,
    /// Who caused it, if a person did (`api:<token id>`).
    #[serde(default)]
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a suppression entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SuppressionKind {
    /// One exact (normalized) address.
    Address,
    /// Every address at a domain.
    Domain,
}

impl SuppressionKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Address => "ADDRESS",
            SuppressionKind::Domain => "DOMAIN",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ADDRESS" => Some(SuppressionKind::Address),
            "DOMAIN" => Some(SuppressionKind::Domain),
            _ => None,
        }
    }
}

/// Why an address or domain must never be contacted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SuppressionReason {
    /// The recipient asked to stop.
    Unsubscribe,
    /// The address does not exist.
    HardBounce,
    /// The recipient reported spam.
    Complaint,
    /// Too many temporary delivery failures in a row.
    SoftBounces,
    /// An operator added it.
    Manual,
}

impl SuppressionReason {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribe => "UNSUBSCRIBE",
            SuppressionReason::HardBounce => "HARD_BOUNCE",
            SuppressionReason::Complaint => "COMPLAINT",
            SuppressionReason::SoftBounces => "SOFT_BOUNCES",
            SuppressionReason::Manual => "MANUAL",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "UNSUBSCRIBE" => Some(SuppressionReason::Unsubscribe),
            "HARD_BOUNCE" => Some(SuppressionReason::HardBounce),
            "COMPLAINT" => Some(SuppressionReason::Complaint),
            "SOFT_BOUNCES" => Some(SuppressionReason::SoftBounces),
            "MANUAL" => Some(SuppressionReason::Manual),
            _ => None,
        }
    }
}

/// A suppression entry. It is kept apart from leads and survives their deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Suppression {
    /// Owner.
    pub tenant_id: String,
    /// Address or domain.
    pub kind: SuppressionKind,
    /// The normalized address or domain.
    pub value: String,
    /// Why.
    pub reason: SuppressionReason,
    /// Free text (the DSN status, the operator's note...).
    pub note: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Where an outbound email is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmailState {
    /// Rendered and waiting.
    Queued,
    /// Handed to SMTP; the outcome is not recorded yet.
    Sending,
    /// Accepted by the server (or written to the dry-run outbox).
    Sent,
    /// Definitely not sent.
    Failed,
    /// Possibly sent (crash or timeout mid-send): needs review, never re-queued.
    Uncertain,
}

impl EmailState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailState::Queued => "QUEUED",
            EmailState::Sending => "SENDING",
            EmailState::Sent => "SENT",
            EmailState::Failed => "FAILED",
            EmailState::Uncertain => "UNCERTAIN",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "QUEUED" => Some(EmailState::Queued),
            "SENDING" => Some(EmailState::Sending),
            "SENT" => Some(EmailState::Sent),
            "FAILED" => Some(EmailState::Failed),
            "UNCERTAIN" => Some(EmailState::Uncertain),
            _ => None,
        }
    }
}

/// An email to queue: one per (lead, step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOutboundEmail {
    /// Campaign sending it.
    pub campaign_id: i64,
    /// Recipient lead.
    pub lead_id: i64,
    /// Sequence step index (0 = first email).
    pub step: u32,
    /// Sending mailbox address.
    pub mailbox: String,
    /// Recipient address.
    pub to_address: String,
    /// Rendered subject.
    pub subject: String,
    /// Rendered body.
    pub body: String,
    /// The Message-ID header value, unique per tenant, chosen when queued so
    /// replies can be matched even if the send outcome is uncertain.
    pub message_id: String,
}

/// A stored outbound email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundEmail {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// What was queued.
    #[serde(flatten)]
    pub email: NewOutboundEmail,
    /// Current state.
    pub state: EmailState,
    /// Last error, for FAILED and UNCERTAIN.
    pub error: Option<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it was handed to SMTP (counts against the daily caps).
    pub attempted_at: Option<DateTime<Utc>>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// An inbound message as parsed from the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInboundMessage {
    /// Mailbox it was read from.
    pub mailbox: String,
    /// Message-ID header; when empty the store derives one from the raw bytes' sha256.
    pub message_id: String,
    /// In-Reply-To header.
    pub in_reply_to: Option<String>,
    /// References header, split into Message-IDs.
    pub references: Vec<String>,
    /// Sender address.
    pub from_address: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// The message exactly as received.
    pub raw: Vec<u8>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A stored inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// As received and parsed.
    #[serde(flatten)]
    pub message: NewInboundMessage,
    /// The lead it was matched to.
    pub matched_lead_id: Option<i64>,
    /// Classifier label (`interested`, `bounce-hard`...).
    pub label: Option<String>,
    /// Classifier confidence in 0..=1.
    pub label_confidence: Option<f64>,
    /// The classifier version that labelled it.
    pub classifier_version: Option<String>,
    /// Whether a human was alerted about it.
    pub alert_sent: bool,
}

/// Where IMAP polling of a mailbox got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCursor {
    /// The folder's UIDVALIDITY; a change means start over.
    pub uid_validity: u32,
    /// The highest UID stored.
    pub last_uid: u32,
}

/// An alert to raise exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewAlert {
    /// Unique per tenant, e.g. `positive-reply:<lead id>:<Message-ID>`.
    pub idempotency_key: String,
    /// What kind of alert (`positive-reply`, `decision-rule`...).
    pub kind: String,
    /// The lead it is about, if any.
    pub lead_id: Option<i64>,
    /// Details for the human.
    pub payload: serde_json::Value,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// What was raised.
    #[serde(flatten)]
    pub alert: NewAlert,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was delivered (email/webhook), if yet.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One try at delivering an alert through one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewAlertAttempt {
    /// The alert.
    pub alert_id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    /// Whether the channel took it.
    pub ok: bool,
    /// What happened (the HTTP status, the SMTP reply, the error).
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored [`NewAlertAttempt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertAttempt {
    /// Row id.
    pub id: i64,
    /// The attempt.
    #[serde(flatten)]
    pub attempt: NewAlertAttempt,
}

/// A plugin version to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPluginVersion {
    /// Plugin name from its `describe`.
    pub name: String,
    /// Plugin kind (`lead-source`, `scorer`...).
    pub kind: String,
    /// Version string from its `describe`.
    pub version: String,
    /// Hex sha256 of the component bytes: the version's identity.
    pub sha256: String,
    /// Where the bytes came from (a path, an upload).
    pub source: String,
}

/// A recorded plugin version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginVersionRecord {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// What was recorded.
    #[serde(flatten)]
    pub plugin: NewPluginVersion,
    /// When it was first seen.
    pub recorded_at: DateTime<Utc>,
    /// Whether it is the version serving calls for its name.
    pub active: bool,
}

/// A finished cycle's report to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewCycleReport {
    /// Campaign it ran for, if any.
    pub campaign_id: Option<i64>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// One line for lists.
    pub summary: String,
    /// The full report.
    pub report: serde_json::Value,
}

/// A stored cycle report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CycleReportRecord {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// What was stored.
    #[serde(flatten)]
    pub report: NewCycleReport,
}

/// A worker's claim on a campaign's cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Owner.
    pub tenant_id: String,
    /// The campaign.
    pub campaign_id: i64,
    /// The holder.
    pub worker_id: String,
    /// When the holder took it.
    pub acquired_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// What an API token may do. Each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the tenant's campaigns, leads, replies and reports.
    Viewer,
    /// Also acts on campaigns, leads and replies (pause, resume, qualify...).
    Operator,
    /// Also manages the tenant's plugins, settings and tokens.
    Admin,
    /// The hosting operator: manages tenants and nothing inside them.
    Host,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Admin, Role::Host];

    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Host => "host",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether this role may do what `needed` may, inside a tenant. The
    /// hosting operator's role reaches no tenant's data.
    pub fn allows(self, needed: Role) -> bool {
        match (self, needed) {
            (Role::Host, Role::Host) => true,
            (Role::Host, _) | (_, Role::Host) => false,
            (have, needed) => have >= needed,
        }
    }
}

/// An API token to store: the secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// The public id (the `<id>` of `cam_<id>_<secret>`).
    pub id: String,
    /// The tenant it acts for; `None` for the hosting operator.
    pub tenant_id: Option<String>,
    /// What it may do.
    pub role: Role,
    /// A label for lists (`ci`, `alice's laptop`).
    pub name: String,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored API token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// What was stored.
    pub token: NewApiToken,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last accepted.
    pub last_used_at: Option<DateTime<Utc>>,
}
