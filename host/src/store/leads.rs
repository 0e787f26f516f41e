//! Leads: import, reads, enrichment and scores (one at a time and in batches), lifecycle transitions, schedule.
//!
//! The trait is implemented once for both backends, in `store/sql/leads.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, LeadEnrichment, LeadTransition, NewLead};
use crate::store::StoreResult;

/// Leads: import, reads, enrichment and scores (one at a time and in batches), lifecycle transitions, schedule.
#[async_trait]
pub trait Leads: Send + Sync {
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
    /// A page of the tenant's leads matching every filter of `filter`, with
    /// ids above `after_id`, by id (page on with the last id returned).
    async fn list_leads(&self, tenant: &str, filter: &LeadFilter, after_id: i64, limit: u32) -> StoreResult<Vec<Lead>>;
    /// Deletes a lead with its transitions and emails; suppressions stay.
    async fn delete_lead(&self, tenant: &str, lead_id: i64) -> StoreResult<()>;
}

/// What [`Leads::insert_leads`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Leads stored as NEW.
    pub inserted: u64,
    /// Normalized emails already known to the tenant (or repeated in the batch).
    pub duplicates: Vec<String>,
    /// Normalized emails dropped because the address or its domain is suppressed.
    pub suppressed: Vec<String>,
}

/// Which leads [`Leads::list_leads`] returns: those matching every filter
/// that is set (none set: all of the tenant's leads).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    /// Only leads in this state.
    pub state: Option<LeadState>,
    /// Only leads of this campaign.
    pub campaign_id: Option<i64>,
    /// Only leads scored at least this (unscored leads never match).
    pub min_score: Option<f64>,
    /// Only leads scored at most this (unscored leads never match).
    pub max_score: Option<f64>,
    /// Only leads whose address or company contains this, ignoring case.
    pub text: Option<String>,
}

/// One lead's row of [`Leads::apply_enrichments`].
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

/// One lead's row of [`Leads::update_scores`].
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
