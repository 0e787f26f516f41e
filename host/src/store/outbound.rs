//! Outbound email: the queue and each email's delivery state.
//!
//! The trait is implemented once for both backends, in `store/sql/outbound.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::model::{EmailState, NewOutboundEmail, OutboundEmail};
use crate::store::{Insertion, StoreResult};

/// Outbound email: the queue and each email's delivery state.
#[async_trait]
pub trait Outbound: Send + Sync {
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
    /// Every email queued for a lead, by step.
    async fn lead_emails(&self, tenant: &str, lead_id: i64) -> StoreResult<Vec<OutboundEmail>>;
    /// Emails of a campaign attempted since `since` (SENDING, SENT or
    /// UNCERTAIN: anything that may have left counts against the cap).
    async fn count_sent_since(&self, tenant: &str, campaign_id: i64, since: DateTime<Utc>) -> StoreResult<u64>;
    /// Same as [`Self::count_sent_since`] for one mailbox across campaigns.
    async fn count_sent_by_mailbox_since(&self, tenant: &str, mailbox: &str, since: DateTime<Utc>) -> StoreResult<u64>;
}
