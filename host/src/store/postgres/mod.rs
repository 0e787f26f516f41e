//! The PostgreSQL backend, for hosted deployments with many workers.
//!
//! Timestamps are TIMESTAMPTZ, JSON columns JSONB. Bulk inserts bind one
//! array per column (`UNNEST`), so a batch is one statement of constant
//! size. Work is claimed with `FOR UPDATE SKIP LOCKED`.

mod batch;
mod campaigns;
mod inbound;
mod leads;
mod leases;
mod outbound;
mod plugins;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{
    Alert, AlertAttempt, Campaign, CampaignStatus, CycleReportRecord, EmailState, InboundMessage, InboxCursor, Lead,
    LeadEnrichment, LeadTransition, Lease, NewAlert, NewAlertAttempt, NewCampaign, NewCycleReport, NewInboundMessage,
    NewLead, NewOutboundEmail, NewPluginVersion, OutboundEmail, PluginVersionRecord, Suppression, SuppressionKind,
    SuppressionReason, Tenant,
};
use crate::store::{
    Backend, BatchOutcome, EnrichmentUpdate, InsertOutcome, Insertion, ScoreUpdate, Store, StoreError, StoreResult,
};

/// Connections per process. Each worker process runs one cycle at a time
/// plus the API; PostgreSQL's default limit is 100 connections in total.
const MAX_CONNECTIONS: u32 = 8;

/// How long to wait for a free connection before failing the call.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://...`). Does not
    /// migrate: see [`PostgresStore::migrate`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// Applies pending migrations from `migrations/postgres`. Safe to run
    /// from several workers at once: sqlx takes an advisory lock.
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("../migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection (tests drop their database afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `NotFound` unless the statement touched a row.
pub(crate) fn touched(result: sqlx::postgres::PgQueryResult, entity: &'static str, key: i64) -> StoreResult<()> {
    if result.rows_affected() == 0 {
        Err(StoreError::not_found(entity, key))
    } else {
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ensure_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant> {
        campaigns::ensure_tenant(&self.pool, id, name).await
    }
    async fn get_tenant(&self, id: &str) -> StoreResult<Tenant> {
        campaigns::get_tenant(&self.pool, id).await
    }

    async fn create_campaign(&self, tenant: &str, c: &NewCampaign) -> StoreResult<Campaign> {
        campaigns::create(&self.pool, tenant, c).await
    }
    async fn get_campaign(&self, tenant: &str, id: i64) -> StoreResult<Campaign> {
        campaigns::get(&self.pool, tenant, id).await
    }
    async fn campaign_by_name(&self, tenant: &str, name: &str) -> StoreResult<Campaign> {
        campaigns::by_name(&self.pool, tenant, name).await
    }
    async fn list_campaigns(&self, tenant: &str) -> StoreResult<Vec<Campaign>> {
        campaigns::list(&self.pool, tenant).await
    }
    async fn update_campaign_config(&self, tenant: &str, id: i64, c: &NewCampaign) -> StoreResult<Campaign> {
        campaigns::update_config(&self.pool, tenant, id, c).await
    }
    async fn set_campaign_status(
        &self,
        tenant: &str,
        id: i64,
        status: CampaignStatus,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Campaign> {
        campaigns::set_status(&self.pool, tenant, id, status, reason, actor).await
    }
    async fn set_daily_cap(&self, tenant: &str, id: i64, cap: u32) -> StoreResult<()> {
        campaigns::set_daily_cap(&self.pool, tenant, id, cap).await
    }
    async fn source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str) -> StoreResult<Option<String>> {
        campaigns::source_cursor(&self.pool, tenant, campaign_id, plugin).await
    }
    async fn set_source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str, cursor: &str) -> StoreResult<()> {
        campaigns::set_source_cursor(&self.pool, tenant, campaign_id, plugin, cursor).await
    }

    async fn insert_leads(&self, tenant: &str, campaign_id: i64, new: &[NewLead]) -> StoreResult<InsertOutcome> {
        leads::insert(&self.pool, tenant, campaign_id, new).await
    }
    async fn get_lead(&self, tenant: &str, id: i64) -> StoreResult<Lead> {
        leads::get(&self.pool, tenant, id).await
    }
    async fn lead_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<Lead>> {
        leads::by_email(&self.pool, tenant, email).await
    }
    async fn leads_by_emails(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<Lead>> {
        leads::by_emails(&self.pool, tenant, emails).await
    }
    async fn leads_in_state(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        leads::in_state(&self.pool, tenant, campaign_id, state, limit).await
    }
    async fn leads_due(
        &self,
        tenant: &str,
        campaign_id: i64,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        leads::due(&self.pool, tenant, campaign_id, now, limit).await
    }
    async fn count_leads_by_state(&self, tenant: &str, campaign_id: i64) -> StoreResult<Vec<(LeadState, u64)>> {
        leads::count_by_state(&self.pool, tenant, campaign_id).await
    }
    async fn update_enrichment(&self, tenant: &str, lead_id: i64, e: &LeadEnrichment) -> StoreResult<()> {
        leads::update_enrichment(&self.pool, tenant, lead_id, e).await
    }
    async fn update_score(
        &self,
        tenant: &str,
        lead_id: i64,
        score: f64,
        reasons: &[String],
        scorer_version: &str,
    ) -> StoreResult<()> {
        leads::update_score(&self.pool, tenant, lead_id, score, reasons, scorer_version).await
    }
    async fn apply_enrichments(&self, tenant: &str, updates: &[EnrichmentUpdate]) -> StoreResult<BatchOutcome> {
        batch::apply_enrichments(&self.pool, tenant, updates).await
    }
    async fn update_scores(&self, tenant: &str, updates: &[ScoreUpdate]) -> StoreResult<BatchOutcome> {
        batch::update_scores(&self.pool, tenant, updates).await
    }
    async fn leads_in_state_after(
        &self,
        tenant: &str,
        campaign_id: i64,
        state: LeadState,
        after_id: i64,
        limit: u32,
        not_scored_by: Option<&str>,
    ) -> StoreResult<Vec<Lead>> {
        leads::in_state_after(&self.pool, tenant, campaign_id, state, after_id, limit, not_scored_by).await
    }
    async fn transition_lead(&self, tenant: &str, t: &LeadTransition) -> StoreResult<()> {
        leads::transition(&self.pool, tenant, t).await
    }
    async fn lead_transitions(&self, tenant: &str, lead_id: i64) -> StoreResult<Vec<LeadTransition>> {
        leads::transitions(&self.pool, tenant, lead_id).await
    }
    async fn set_lead_schedule(
        &self,
        tenant: &str,
        lead_id: i64,
        current_step: u32,
        next_action_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        leads::set_schedule(&self.pool, tenant, lead_id, current_step, next_action_at).await
    }
    async fn delete_lead(&self, tenant: &str, lead_id: i64) -> StoreResult<()> {
        leads::delete(&self.pool, tenant, lead_id).await
    }

    async fn add_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        reason: SuppressionReason,
        note: &str,
    ) -> StoreResult<()> {
        leads::add_suppression(&self.pool, tenant, kind, value, reason, note).await
    }
    async fn is_suppressed(&self, tenant: &str, email: &str) -> StoreResult<bool> {
        let one = [email.to_string()];
        Ok(!leads::suppressed_subset(&self.pool, tenant, &one).await?.is_empty())
    }
    async fn suppressed_subset(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>> {
        leads::suppressed_subset(&self.pool, tenant, emails).await
    }
    async fn list_suppressions(&self, tenant: &str) -> StoreResult<Vec<Suppression>> {
        leads::list_suppressions(&self.pool, tenant).await
    }

    async fn queue_email(&self, tenant: &str, e: &NewOutboundEmail) -> StoreResult<Insertion> {
        outbound::queue(&self.pool, tenant, e).await
    }
    async fn get_email(&self, tenant: &str, id: i64) -> StoreResult<OutboundEmail> {
        outbound::get(&self.pool, tenant, id).await
    }
    async fn email_by_message_id(&self, tenant: &str, message_id: &str) -> StoreResult<Option<OutboundEmail>> {
        outbound::by_message_id(&self.pool, tenant, message_id).await
    }
    async fn mark_email_sending(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        outbound::mark_sending(&self.pool, tenant, id, at).await
    }
    async fn mark_email_sent(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        outbound::mark_sent(&self.pool, tenant, id, at).await
    }
    async fn mark_email_failed(&self, tenant: &str, id: i64, error: &str) -> StoreResult<()> {
        outbound::mark_failed(&self.pool, tenant, id, error).await
    }
    async fn mark_email_uncertain(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()> {
        outbound::mark_uncertain(&self.pool, tenant, id, note).await
    }
    async fn requeue_email(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()> {
        outbound::requeue(&self.pool, tenant, id, note).await
    }
    async fn resolve_uncertain_email(
        &self,
        tenant: &str,
        id: i64,
        sent: bool,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        outbound::resolve_uncertain(&self.pool, tenant, id, sent, note, at).await
    }
    async fn mark_stale_sending_uncertain(&self, tenant: &str, attempted_before: DateTime<Utc>) -> StoreResult<u64> {
        outbound::mark_stale_uncertain(&self.pool, tenant, attempted_before).await
    }
    async fn emails_in_state(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        state: EmailState,
        limit: u32,
    ) -> StoreResult<Vec<OutboundEmail>> {
        outbound::in_state(&self.pool, tenant, campaign_id, state, limit).await
    }
    async fn count_sent_since(&self, tenant: &str, campaign_id: i64, since: DateTime<Utc>) -> StoreResult<u64> {
        outbound::count_sent_since(&self.pool, tenant, Some(campaign_id), None, since).await
    }
    async fn count_sent_by_mailbox_since(&self, tenant: &str, mailbox: &str, since: DateTime<Utc>) -> StoreResult<u64> {
        outbound::count_sent_since(&self.pool, tenant, None, Some(mailbox), since).await
    }

    async fn insert_inbound(&self, tenant: &str, m: &NewInboundMessage) -> StoreResult<Insertion> {
        inbound::insert_inbound(&self.pool, tenant, m).await
    }
    async fn get_inbound(&self, tenant: &str, id: i64) -> StoreResult<InboundMessage> {
        inbound::get_inbound(&self.pool, tenant, id).await
    }
    async fn set_inbound_match(&self, tenant: &str, id: i64, lead_id: i64) -> StoreResult<()> {
        inbound::set_inbound_match(&self.pool, tenant, id, lead_id).await
    }
    async fn set_inbound_label(
        &self,
        tenant: &str,
        id: i64,
        label: &str,
        confidence: f64,
        classifier_version: &str,
    ) -> StoreResult<()> {
        inbound::set_inbound_label(&self.pool, tenant, id, label, confidence, classifier_version).await
    }
    async fn mark_inbound_alerted(&self, tenant: &str, id: i64) -> StoreResult<()> {
        inbound::mark_inbound_alerted(&self.pool, tenant, id).await
    }
    async fn unmatched_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        inbound::list_inbound(&self.pool, tenant, "matched_lead_id IS NULL", limit).await
    }
    async fn unlabeled_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        inbound::list_inbound(&self.pool, tenant, "label IS NULL", limit).await
    }
    async fn unalerted_positive_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        let unalerted = "label = 'interested' AND NOT alert_sent AND matched_lead_id IS NOT NULL";
        inbound::list_inbound(&self.pool, tenant, unalerted, limit).await
    }
    async fn count_inbound_labelled(&self, tenant: &str, lead_id: i64, label: &str) -> StoreResult<u64> {
        inbound::count_labelled(&self.pool, tenant, lead_id, label).await
    }
    async fn inbox_cursor(&self, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>> {
        inbound::inbox_cursor(&self.pool, tenant, mailbox).await
    }
    async fn set_inbox_cursor(&self, tenant: &str, mailbox: &str, cursor: InboxCursor) -> StoreResult<()> {
        inbound::set_inbox_cursor(&self.pool, tenant, mailbox, cursor).await
    }

    async fn insert_alert(&self, tenant: &str, alert: &NewAlert) -> StoreResult<Insertion> {
        inbound::insert_alert(&self.pool, tenant, alert).await
    }
    async fn record_alert_attempt(&self, tenant: &str, attempt: &NewAlertAttempt) -> StoreResult<()> {
        inbound::record_alert_attempt(&self.pool, tenant, attempt).await
    }
    async fn alert_attempts(&self, tenant: &str, alert_id: i64) -> StoreResult<Vec<AlertAttempt>> {
        inbound::alert_attempts(&self.pool, tenant, alert_id).await
    }
    async fn undelivered_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>> {
        inbound::list_alerts_where(&self.pool, tenant, "delivered_at IS NULL", "id", limit).await
    }
    async fn mark_alert_delivered(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        inbound::mark_alert_delivered(&self.pool, tenant, id, at).await
    }
    async fn list_alerts(&self, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>> {
        inbound::list_alerts_where(&self.pool, tenant, "TRUE", "id DESC", limit).await
    }

    async fn kv_get(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        plugins::kv_get(&self.pool, tenant, plugin, key).await
    }
    async fn kv_set(&self, tenant: &str, plugin: &str, key: &str, value: &[u8], quota_bytes: u64) -> StoreResult<()> {
        plugins::kv_set(&self.pool, tenant, plugin, key, value, quota_bytes).await
    }
    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> StoreResult<bool> {
        plugins::kv_delete(&self.pool, tenant, plugin, key).await
    }
    async fn kv_usage(&self, tenant: &str, plugin: &str) -> StoreResult<u64> {
        plugins::kv_usage(&self.pool, tenant, plugin, None).await
    }

    async fn record_plugin_version(&self, tenant: &str, v: &NewPluginVersion) -> StoreResult<PluginVersionRecord> {
        plugins::record_version(&self.pool, tenant, v).await
    }
    async fn plugin_history(&self, tenant: &str, name: &str) -> StoreResult<Vec<PluginVersionRecord>> {
        plugins::history(&self.pool, tenant, name).await
    }
    async fn active_plugin_versions(&self, tenant: &str) -> StoreResult<Vec<PluginVersionRecord>> {
        plugins::active_versions(&self.pool, tenant).await
    }
    async fn activate_plugin_version(
        &self,
        tenant: &str,
        name: &str,
        sha256: &str,
    ) -> StoreResult<PluginVersionRecord> {
        plugins::activate(&self.pool, tenant, name, sha256).await
    }
    async fn save_plugin_blob(&self, tenant: &str, sha256: &str, wasm: &[u8], manifest: &str) -> StoreResult<()> {
        plugins::save_blob(&self.pool, tenant, sha256, wasm, manifest).await
    }
    async fn plugin_blob(&self, tenant: &str, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        plugins::blob(&self.pool, tenant, sha256).await
    }
    async fn announce_plugin_change(&self, tenant: &str, name: &str) -> StoreResult<()> {
        plugins::announce(&self.pool, tenant, name).await
    }

    async fn insert_cycle_report(&self, tenant: &str, r: &NewCycleReport) -> StoreResult<i64> {
        plugins::insert_report(&self.pool, tenant, r).await
    }
    async fn recent_cycle_reports(
        &self,
        tenant: &str,
        campaign_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<CycleReportRecord>> {
        plugins::recent_reports(&self.pool, tenant, campaign_id, limit).await
    }

    async fn try_acquire_lease(
        &self,
        tenant: &str,
        campaign_id: i64,
        worker_id: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        leases::try_acquire(&self.pool, tenant, campaign_id, worker_id, ttl).await
    }
    async fn renew_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str, ttl: Duration) -> StoreResult<bool> {
        leases::renew(&self.pool, tenant, campaign_id, worker_id, ttl).await
    }
    async fn release_lease(&self, tenant: &str, campaign_id: i64, worker_id: &str) -> StoreResult<()> {
        leases::release(&self.pool, tenant, campaign_id, worker_id).await
    }
    async fn claim_next_campaign(&self, worker_id: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        leases::claim_next(&self.pool, worker_id, ttl).await
    }
}
