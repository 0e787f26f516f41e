//! Alerts for humans and the log of their delivery tries.
//!
//! The trait is implemented once for both backends, in `store/sql/alerts.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::model::{Alert, AlertAttempt, NewAlert, NewAlertAttempt};
use crate::store::{Insertion, StoreResult};

/// Alerts for humans and the log of their delivery tries.
#[async_trait]
pub trait Alerts: Send + Sync {
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
}
