//! A campaign's activity per day, counted from the stored emails and
//! replies (the running totals of `pipeline::metrics` have no dates).
//!
//! The trait is implemented once for both backends, in `store/sql/metrics.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::StoreResult;

/// A campaign's activity per day.
#[async_trait]
pub trait DailyMetrics: Send + Sync {
    /// The campaign's activity on each UTC day from `since` on, one entry per
    /// day that had any, oldest first. Emails count on the day the server
    /// accepted them; replies on the day they were received, by the label
    /// they carry now (`domain::reply_label`). `NotFound` for another
    /// tenant's campaign.
    async fn daily_activity(
        &self,
        tenant: &str,
        campaign_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DayActivity>>;
}

/// What happened in a campaign on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DayActivity {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Emails the mail server accepted.
    pub sent: u64,
    /// Replies written by a person (`domain::reply_label::REPLY_LABELS`).
    pub replies: u64,
    /// Of those, interest or a question.
    pub positive: u64,
    /// Bounces, hard, soft and policy blocks.
    pub bounces: u64,
    /// Requests to stop writing.
    pub unsubscribes: u64,
}

impl DayActivity {
    /// A day with nothing in it.
    pub fn empty(day: NaiveDate) -> DayActivity {
        DayActivity {
            day,
            sent: 0,
            replies: 0,
            positive: 0,
            bounces: 0,
            unsubscribes: 0,
        }
    }
}
