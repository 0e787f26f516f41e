//! Inbound messages (replies, bounces) and where polling of each mailbox got to.
//!
//! The trait is implemented once for both backends, in `store/sql/inbound.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::model::{InboundMessage, InboxCursor, NewInboundMessage};
use crate::store::{Insertion, StoreResult};

/// Inbound messages (replies, bounces) and where polling of each mailbox got to.
#[async_trait]
pub trait Inbound: Send + Sync {
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
    /// reply) whose alert is not recorded yet ([`Self::mark_inbound_alerted`]),
    /// oldest first: an alert still goes out after a crash between
    /// classifying a reply and alerting about it.
    async fn unalerted_positive_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>>;
    /// How many messages matched to `lead_id` carry `label` (e.g. how many
    /// soft bounces an address has had).
    async fn count_inbound_labelled(&self, tenant: &str, lead_id: i64, label: &str) -> StoreResult<u64>;
    /// A page of the tenant's messages matching `filter`, with ids above
    /// `after_id`, by id (page on with the last id returned).
    async fn list_inbound(
        &self,
        tenant: &str,
        filter: &InboundFilter,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<InboundMessage>>;
    /// A person's label replaces the message's: recorded with the label,
    /// confidence and classifier version it had, why and who; the message
    /// then carries `label` with confidence 1 and `actor` as its classifier
    /// version. Nothing else changes (the lead's state, suppressions).
    async fn relabel_inbound(
        &self,
        tenant: &str,
        id: i64,
        label: &str,
        reason: &str,
        actor: &str,
    ) -> StoreResult<ReplyRelabel>;
    /// Every relabelling of a message, oldest first.
    async fn inbound_relabels(&self, tenant: &str, id: i64) -> StoreResult<Vec<ReplyRelabel>>;
    /// Where polling of `mailbox` got to.
    async fn inbox_cursor(&self, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>>;
    /// Advances (or resets, on a new UIDVALIDITY) the polling position. It
    /// never moves back within one UIDVALIDITY, so two workers polling the
    /// same folder cannot undo each other's progress.
    async fn set_inbox_cursor(&self, tenant: &str, mailbox: &str, cursor: InboxCursor) -> StoreResult<()>;
}

/// Which messages [`Inbound::list_inbound`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundFilter {
    /// `true`: replies, messages matched to a lead; `false`: messages
    /// matched to no lead (nor so to any campaign).
    pub matched: bool,
    /// Only messages carrying this label.
    pub label: Option<String>,
    /// Only replies from leads of this campaign.
    pub campaign_id: Option<i64>,
    /// Only replies from this lead.
    pub lead_id: Option<i64>,
}

/// One recorded relabelling of a message ([`Inbound::relabel_inbound`]).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ReplyRelabel {
    /// The message.
    pub inbound_id: i64,
    /// The label it had (`None`: not labelled yet).
    pub previous_label: Option<String>,
    /// That label's confidence.
    pub previous_confidence: Option<f64>,
    /// The classifier version (or person) that gave it.
    pub previous_classifier: Option<String>,
    /// The label given.
    pub label: String,
    /// Why, in the person's words.
    pub reason: String,
    /// Who (`api:<token id>`).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}
