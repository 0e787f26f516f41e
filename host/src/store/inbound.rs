//! Inbound messages (replies, bounces) and where polling of each mailbox got to.
//!
//! The trait is implemented once for both backends, in `store/sql/inbound.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

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
    /// Where polling of `mailbox` got to.
    async fn inbox_cursor(&self, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>>;
    /// Advances (or resets, on a new UIDVALIDITY) the polling position. It
    /// never moves back within one UIDVALIDITY, so two workers polling the
    /// same folder cannot undo each other's progress.
    async fn set_inbox_cursor(&self, tenant: &str, mailbox: &str, cursor: InboxCursor) -> StoreResult<()>;
}
