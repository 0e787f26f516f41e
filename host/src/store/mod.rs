//! Storage: one [`Store`] trait, implemented for SQLite (the embedded
//! default, one file in WAL mode) and PostgreSQL (hosted, many workers).
//!
//! Callers hold an `Arc<dyn Store>` from [`open`]. Every method is scoped to
//! a tenant: a row of another tenant is never read, changed or counted, and
//! looks exactly like a missing row ([`StoreError::NotFound`]).
//!
//! Both backends pass the same conformance suite (`store::conformance`).
//! Queries are checked at run time (`sqlx::query` + `bind`) so builds need no
//! database. Schema changes are forward-only migrations in
//! `migrations/sqlite/` and `migrations/postgres/`, applied by [`open`] and
//! [`migrate`].

mod error;
mod postgres;
mod shared;
mod sqlite;

#[cfg(test)]
mod conformance;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{
    Alert, AlertAttempt, Campaign, CampaignStatus, CycleReportRecord, EmailState, InboundMessage, InboxCursor, Lead,
    LeadEnrichment, LeadTransition, Lease, NewAlert, NewAlertAttempt, NewCampaign, NewCycleReport, NewInboundMessage,
    NewLead, NewOutboundEmail, NewPluginVersion, OutboundEmail, PluginVersionRecord, Suppression, SuppressionKind,
    SuppressionReason, Tenant,
};

pub use error::{StoreError, StoreResult};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The PostgreSQL `LISTEN/NOTIFY` channel on which plugin version changes
/// are announced (payload `tenant/name`).
pub const PLUGIN_CHANGES_CHANNEL: &str = "cam_plugin_changes";

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// What [`Store::insert_leads`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Leads stored as NEW.
    pub inserted: u64,
    /// Normalized emails already known to the tenant (or repeated in the batch).
    pub duplicates: Vec<String>,
    /// Normalized emails dropped because the address or its domain is suppressed.
    pub suppressed: Vec<String>,
}

/// One lead's row of [`Store::apply_enrichments`].
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichmentUpdate {
    /// The lead.
    pub lead_id: i64,
    /// What the enrichers learned (fields left `None` stay as they are).
    pub enrichment: LeadEnrichment,
    /// The move to record with it (its `lead_id` must be this lead's);
    /// `None` stores the enrichment only.
    pub transition: Option<LeadTransition>,
}

/// One lead's row of [`Store::update_scores`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreUpdate {
    /// The lead.
    pub lead_id: i64,
    /// The score.
    pub score: f64,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// The scorer version that gave it.
    pub scorer_version: String,
}

/// What a batch update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows applied.
    pub applied: u64,
    /// Leads left untouched, in input order: missing, another tenant's, or
    /// (for a row with a transition) no longer in the transition's `from`
    /// state because someone moved them meanwhile.
    pub skipped: Vec<i64>,
}

/// The result of an idempotent insert: a new row, or the row that was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// Inserted now; the new row id.
    New(i64),
    /// Already there (same key); the existing row id. Nothing was changed.
    Existing(i64),
}

impl Insertion {
    /// The row id either way.
    pub fn id(self) -> i64 {
        match self {
            Insertion::New(id) | Insertion::Existing(id) => id,
        }
    }

    /// Whether this call created the row.
    pub fn is_new(self) -> bool {
        matches!(self, Insertion::New(_))
    }
}

/// The storage the whole system shares. See the module docs for the rules.
#[async_trait]
pub trait Store: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    // ---- tenants -------------------------------------------------------

    /// Creates the tenant if missing (the name is only set on creation).
    async fn ensure_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant>;
    /// One tenant.
    async fn get_tenant(&self, id: &str) -> StoreResult<Tenant>;

    // ---- campaigns -----------------------------------------------------

    /// Stores a new campaign, PAUSED until started. `Duplicate` if the name is taken.
    async fn create_campaign(&self, tenant: &str, campaign: &NewCampaign) -> StoreResult<Campaign>;
    /// One campaign by id.
    async fn get_campaign(&self, tenant: &str, id: i64) -> StoreResult<Campaign>;
    /// One campaign by name.
    async fn campaign_by_name(&self, tenant: &str, name: &str) -> StoreResult<Campaign>;
    /// All of a tenant's campaigns, by id.
    async fn list_campaigns(&self, tenant: &str) -> StoreResult<Vec<Campaign>>;
    /// Replaces a campaign's configuration (name included) and keeps its status.
    async fn update_campaign_config(&self, tenant: &str, id: i64, campaign: &NewCampaign) -> StoreResult<Campaign>;
    /// Changes the status, recording why and who.
    async fn set_campaign_status(
        &self,
        tenant: &str,
        id: i64,
        status: CampaignStatus,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Campaign>;
    /// Changes the campaign-wide daily cap.
    async fn set_daily_cap(&self, tenant: &str, id: i64, cap: u32) -> StoreResult<()>;
    /// The cursor a lead source returned last for this campaign.
    async fn source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str) -> StoreResult<Option<String>>;
    /// Persists a lead source's next cursor.
    async fn set_source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str, cursor: &str) -> StoreResult<()>;

    // ---- leads ---------------------------------------------------------

    /// Inserts leads as NEW in one transaction, in multi-row batches. Emails
    /// are trimmed and lower-cased; existing or repeated emails and suppressed
    /// addresses/domains are skipped and reported, never overwritten.
    ///
    /// Rows are taken in order: the first row of an address in `leads` is
    /// the one stored, or reported once (as suppressed, or as a duplicate
    /// when the tenant already has the address); each later row of it is
    /// reported as a duplicate, once per row. `cam import` relies on this
    /// (and on the unique address per tenant) as its only dedupe, to keep
    /// nothing per row of a file.
    async fn insert_leads(&self, tenant: &str, campaign_id: i64, leads: &[NewLead]) -> StoreResult<InsertOutcome>;
    /// One lead by id.
    async fn get_lead(&self, tenant: &str, id: i64) -> StoreResult<Lead>;
    /// One lead by (normalized) email.
    async fn lead_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<Lead>>;
    /// The tenant's leads having any of `emails` (normalized), in no
    /// particular order; one query for many addresses.
    async fn leads_by_emails(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<Lead>>;
    /// A campaign's leads in `state`, best score first (unscored last), then oldest.
    async fn leads_in_state(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        limit: u32,
    ) -> StoreResult<Vec<Lead>>;
    /// A campaign's leads whose `next_action_at` is at or before `now`, earliest first.
    async fn leads_due(&self, tenant: &str, campaign_id: i64, now: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<Lead>>;
    /// How many of a campaign's leads are in each state (states with none are left out).
    async fn count_leads_by_state(&self, tenant: &str, campaign_id: i64) -> StoreResult<Vec<(LeadState, u64)>>;
    /// Applies what an enricher learned (fields left `None` stay as they are).
    async fn update_enrichment(&self, tenant: &str, lead_id: i64, enrichment: &LeadEnrichment) -> StoreResult<()>;
    /// Records a score, its reasons and the scorer version.
    async fn update_score(
        &self,
        tenant: &str,
        lead_id: i64,
        score: f64,
        reasons: &[String],
        scorer_version: &str,
    ) -> StoreResult<()>;
    /// Applies many enrichments, each with its optional transition, in ONE
    /// transaction. Every transition is first checked against the lifecycle
    /// (`IllegalTransition` refuses the whole batch, as does a transition
    /// whose `lead_id` is not its row's: `Conflict`). A row whose lead is
    /// missing or no longer in `transition.from` changes nothing and is
    /// reported in [`BatchOutcome::skipped`]; the other rows still apply.
    async fn apply_enrichments(&self, tenant: &str, updates: &[EnrichmentUpdate]) -> StoreResult<BatchOutcome>;
    /// Records many scores in ONE transaction; missing leads are skipped
    /// and reported.
    async fn update_scores(&self, tenant: &str, updates: &[ScoreUpdate]) -> StoreResult<BatchOutcome>;
    /// A page of a campaign's leads in `state` with ids above `after_id`,
    /// by id (page on with the last id returned); with `not_scored_by`, only
    /// leads without a score from that scorer version. One page in memory
    /// at a time, and a lead moved out of `state` meanwhile never shifts
    /// the next page.
    async fn leads_in_state_after(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        after_id: i64,
        limit: u32,
        not_scored_by: Option<&str>,
    ) -> StoreResult<Vec<Lead>>;
    /// Moves a lead from `transition.from` to `transition.to` and records the
    /// transition. `Conflict` if the lead is no longer in `from` (someone
    /// moved it meanwhile); `IllegalTransition` if the lifecycle
    /// (`domain::lifecycle::transition`) has no such edge.
    async fn transition_lead(&self, tenant: &str, transition: &LeadTransition) -> StoreResult<()>;
    /// A lead's recorded transitions, oldest first.
    async fn lead_transitions(&self, tenant: &str, lead_id: i64) -> StoreResult<Vec<LeadTransition>>;
    /// Sets the sequence position and when to act next (`None`: nothing scheduled).
    async fn set_lead_schedule(
        &self,
        tenant: &str,
        lead_id: i64,
        current_step: u32,
        next_action_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Deletes a lead with its transitions and emails; suppressions stay.
    async fn delete_lead(&self, tenant: &str, lead_id: i64) -> StoreResult<()>;

    // ---- suppression ---------------------------------------------------

    /// Suppresses an address or a domain (normalized to lower case). Adding
    /// an existing entry keeps the first reason.
    async fn add_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        reason: SuppressionReason,
        note: &str,
    ) -> StoreResult<()>;
    /// Whether the address or its domain is suppressed.
    async fn is_suppressed(&self, tenant: &str, email: &str) -> StoreResult<bool>;
    /// The normalized emails of `emails` whose address or domain is suppressed.
    async fn suppressed_subset(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>>;
    /// All suppression entries, newest first.
    async fn list_suppressions(&self, tenant: &str) -> StoreResult<Vec<Suppression>>;

    // ---- outbound email ------------------------------------------------

    /// Queues an email; the database allows one per (lead, step), so a second
    /// call returns [`Insertion::Existing`] and changes nothing.
    async fn queue_email(&self, tenant: &str, email: &NewOutboundEmail) -> StoreResult<Insertion>;
    /// One email by id.
    async fn get_email(&self, tenant: &str, id: i64) -> StoreResult<OutboundEmail>;
    /// The email with this Message-ID, for matching replies.
    async fn email_by_message_id(&self, tenant: &str, message_id: &str) -> StoreResult<Option<OutboundEmail>>;
    /// QUEUED → SENDING (the attempt counts against caps from `at`). `Conflict` otherwise.
    async fn mark_email_sending(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// SENDING → SENT. `Conflict` otherwise.
    async fn mark_email_sent(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// QUEUED or SENDING → FAILED (known not sent). `Conflict` otherwise.
    async fn mark_email_failed(&self, tenant: &str, id: i64, error: &str) -> StoreResult<()>;
    /// SENDING → UNCERTAIN (may have been sent; never re-queued). `Conflict` otherwise.
    async fn mark_email_uncertain(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()>;
    /// SENDING → QUEUED: certainly not sent, try again next cycle (the mail
    /// server was down or asked to retry). `note` says why.
    async fn requeue_email(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()>;
    /// UNCERTAIN → SENT (`sent` true: the operator found it delivered) or
    /// FAILED (it never left; `note` says so). Only an operator calls this.
    async fn resolve_uncertain_email(
        &self,
        tenant: &str,
        id: i64,
        sent: bool,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Marks every email SENDING since before `attempted_before` as UNCERTAIN
    /// (a worker died mid-send); returns how many.
    async fn mark_stale_sending_uncertain(&self, tenant: &str, attempted_before: DateTime<Utc>) -> StoreResult<u64>;
    /// Emails in `state` (optionally of one campaign), oldest first.
    async fn emails_in_state(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        state: EmailState,
        limit: u32,
    ) -> StoreResult<Vec<OutboundEmail>>;
    /// Emails of a campaign attempted since `since` (SENDING, SENT or
    /// UNCERTAIN: anything that may have left counts against the cap).
    async fn count_sent_since(&self, tenant: &str, campaign_id: i64, since: DateTime<Utc>) -> StoreResult<u64>;
    /// Same as [`Store::count_sent_since`] for one mailbox across campaigns.
    async fn count_sent_by_mailbox_since(&self, tenant: &str, mailbox: &str, since: DateTime<Utc>) -> StoreResult<u64>;

    // ---- inbound messages ----------------------------------------------

    /// Stores a message; the same Message-ID twice returns [`Insertion::Existing`].
    async fn insert_inbound(&self, tenant: &str, message: &NewInboundMessage) -> StoreResult<Insertion>;
    /// One inbound message by id.
    async fn get_inbound(&self, tenant: &str, id: i64) -> StoreResult<InboundMessage>;
    /// Records which lead a message belongs to.
    async fn set_inbound_match(&self, tenant: &str, id: i64, lead_id: i64) -> StoreResult<()>;
    /// Records the classifier's label.
    async fn set_inbound_label(
        &self,
        tenant: &str,
        id: i64,
        label: &str,
        confidence: f64,
        classifier_version: &str,
    ) -> StoreResult<()>;
    /// Records that a human was alerted about the message.
    async fn mark_inbound_alerted(&self, tenant: &str, id: i64) -> StoreResult<()>;
    /// Messages not matched to a lead, oldest first.
    async fn unmatched_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>>;
    /// Messages not labelled yet, oldest first.
    async fn unlabeled_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>>;
    /// Messages matched to a lead and labelled `interested` (a positive
    /// reply) whose alert is not recorded yet ([`Store::mark_inbound_alerted`]),
    /// oldest first: an alert still goes out after a crash between
    /// classifying a reply and alerting about it.
    async fn unalerted_positive_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>>;
    /// How many messages matched to `lead_id` carry `label` (e.g. how many
    /// soft bounces an address has had).
    async fn count_inbound_labelled(&self, tenant: &str, lead_id: i64, label: &str) -> StoreResult<u64>;
    /// Where polling of `mailbox` got to.
    async fn inbox_cursor(&self, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>>;
    /// Advances (or resets, on a new UIDVALIDITY) the polling position. It
    /// never moves back within one UIDVALIDITY, so two workers polling the
    /// same folder cannot undo each other's progress.
    async fn set_inbox_cursor(&self, tenant: &str, mailbox: &str, cursor: InboxCursor) -> StoreResult<()>;

    // ---- alerts --------------------------------------------------------

    /// Stores an alert once per idempotency key; a repeat returns
    /// [`Insertion::Existing`] and changes nothing.
    async fn insert_alert(&self, tenant: &str, alert: &NewAlert) -> StoreResult<Insertion>;
    /// Records one delivery try (the alert log).
    async fn record_alert_attempt(&self, tenant: &str, attempt: &NewAlertAttempt) -> StoreResult<()>;
    /// Every try for an alert, oldest first.
    async fn alert_attempts(&self, tenant: &str, alert_id: i64) -> StoreResult<Vec<AlertAttempt>>;
    /// Alerts not delivered yet, oldest first.
    async fn undelivered_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>>;
    /// Records delivery.
    async fn mark_alert_delivered(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Newest alerts first.
    async fn list_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>>;

    // ---- plugin key-value data -----------------------------------------

    /// A plugin's value for `key`.
    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Sets `key`, atomically refusing with `QuotaExceeded` when the plugin's
    /// total (key + value bytes over all its keys, this one's new size
    /// included) would exceed `quota_bytes`.
    async fn kv_set(&self, tenant: &str, plugin: &str, key: &str, value: &[u8], quota_bytes: u64) -> StoreResult<()>;
    /// Deletes `key`; whether it existed.
    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<bool>;
    /// Bytes the plugin uses (keys plus values).
    async fn kv_usage(&self, tenant: &str, plugin: &str) -> StoreResult<u64>;

    // ---- plugin versions -----------------------------------------------

    /// Records a version (idempotent on (name, sha256)); new versions start inactive.
    async fn record_plugin_version(&self, tenant: &str, version: &NewPluginVersion)
    -> StoreResult<PluginVersionRecord>;
    /// Every version of `name`, newest first.
    async fn plugin_history(&self, tenant: &str, name: &str) -> StoreResult<Vec<PluginVersionRecord>>;
    /// The active version of every plugin, by name.
    async fn active_plugin_versions(&self, tenant: &str) -> StoreResult<Vec<PluginVersionRecord>>;
    /// Makes `sha256` the one active version of `name` (rollback and promotion).
    async fn activate_plugin_version(&self, tenant: &str, name: &str, sha256: &str)
    -> StoreResult<PluginVersionRecord>;
    /// Keeps a version's component bytes and manifest text in the database,
    /// so every worker of a hosted fleet can load it (idempotent on sha256).
    async fn save_plugin_blob(&self, tenant: &str, sha256: &str, wasm: &[u8], manifest: &str) -> StoreResult<()>;
    /// A kept version's component bytes and manifest text.
    async fn plugin_blob(&self, tenant: &str, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>>;
    /// Tells every worker connected to this database that the versions of
    /// `name` changed: PostgreSQL `NOTIFY` on [`PLUGIN_CHANGES_CHANNEL`] with
    /// payload `tenant/name`. A no-op on SQLite, whose one worker polls.
    async fn announce_plugin_change(&self, tenant: &str, name: &str) -> StoreResult<()>;

    // ---- cycle reports -------------------------------------------------

    /// Stores a finished cycle's report.
    async fn insert_cycle_report(&self, tenant: &str, report: &NewCycleReport) -> StoreResult<i64>;
    /// Newest reports first, optionally for one campaign.
    async fn recent_cycle_reports(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<CycleReportRecord>>;

    // ---- worker leases -------------------------------------------------

    /// Takes the campaign's lease if it is free, expired, or already ours.
    async fn try_acquire_lease(
        &self,
        tenant: &str,
        campaign_id: i64,
        worker_id: &str,
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Extends our lease; `false` if it is not ours any more.
    async fn renew_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str, ttl: Duration) -> StoreResult<bool>;
    /// Gives our lease up (no-op if it is not ours).
    async fn release_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()>;
    /// Claims the RUNNING campaign (any tenant) least recently leased whose
    /// lease is free or expired. Concurrent claimers never get the same one.
    async fn claim_next_campaign(&self, worker_id: &str, ttl: Duration) -> StoreResult<Option<Lease>>;
}

/// Opens the store `url` names, creating the SQLite file if missing, and
/// applies pending migrations.
///
/// Accepted: `sqlite://PATH`, `sqlite:PATH` (SQLite, WAL mode) and
/// `postgres://...` / `postgresql://...`.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context as _;
    match backend_of(url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(url)
                .await
                .with_context(|| format!("opening SQLite database {}", redact(url)))?;
            store.migrate().await.context("migrating the SQLite database")?;
            Ok(Arc::new(store))
        }
        Backend::Postgres => {
            let store = PostgresStore::connect(url)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
            store.migrate().await.context("migrating the PostgreSQL database")?;
            Ok(Arc::new(store))
        }
    }
}

/// Applies pending migrations to the database `url` names (`cam migrate`).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    open(url).await.map(drop)
}

/// Which backend a URL names.
pub fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl { url: redact(url) })
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend_and_others_are_refused() {
        assert_eq!(backend_of("sqlite://cam.db").ok(), Some(Backend::Sqlite));
        assert_eq!(backend_of("sqlite:cam.db").ok(), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert_eq!(backend_of("postgresql://u@h/db").ok(), Some(Backend::Postgres));
        let refused = backend_of("mysql://root:hunter2@h/db");
        assert!(matches!(refused, Err(StoreError::UnsupportedUrl { .. })));
        assert!(!refused.unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        let redacted = redact("postgres://cam:s3cret@db.internal:5432/cam");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(redacted.contains("db.internal"));
        assert_eq!(redact("sqlite://cam.db"), "sqlite://cam.db");
    }

    #[tokio::test]
    async fn opening_twice_creates_missing_folders_and_migrates_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("new/folder/cam.db").display());
        let store = open(&url).await.expect("first open");
        store.ensure_tenant("default", "Default").await.expect("tenant");
        drop(store);
        migrate(&url).await.expect("migrating again is a no-op");
        let store = open(&url).await.expect("second open");
        assert_eq!(store.get_tenant("default").await.expect("tenant kept").name, "Default");
    }
}
