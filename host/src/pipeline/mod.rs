//! The cycle: eleven steps run in order per (tenant, campaign), each calling
//! the domain, the store, the mail transports and the campaign's plugins, and
//! each returning a [`StepReport`].
//!
//! A step that cannot run (a plugin missing or quarantined, the store
//! failing) is recorded as failed and the cycle goes on: every later step
//! reads its input from the store, so it does whatever is possible without
//! the failed one (no enricher: nothing moves to ENRICHED, but replies are
//! still read and classified).
//!
//! While a campaign is not RUNNING, the outreach steps (discover, enrich,
//! score, schedule, send, follow up) are skipped with the status reason;
//! replies are still read, classified and alerted on, and decision rules
//! still run (so a rule can resume the campaign).

mod alert;
mod classify;
mod context;
mod cycle;
mod decide;
mod discover;
mod enrich;
mod follow_up;
mod inbox;
pub mod metrics;
pub mod report;
mod schedule;
mod score;
mod send;
mod wire;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use context::CycleContext;
pub use cycle::{Cycle, STEP_NAMES};
pub use report::{CycleReport, StateChange, StepFailure, StepReport, StepStatus};

use crate::mail::{InboxSource, Sender};

/// Where "now" comes from, so tests and replays can move time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant (tests, `cam cycle --now`, the demo).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// How the cycle sends and reads mail.
#[derive(Clone)]
pub struct Transports {
    /// Outreach and operator alerts go out through this.
    pub sender: Arc<dyn Sender>,
    /// Replies come in through this.
    pub inbox: Arc<dyn InboxSource>,
    /// Where alert emails go.
    pub operator_address: String,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("sender", &self.sender.describe())
            .field("inbox", &self.inbox.mailbox())
            .field("operator_address", &self.operator_address)
            .finish()
    }
}

impl Transports {
    /// Dry-run transports: the outbox folder and the inbox Maildir.
    pub fn dry_run(outbox: &std::path::Path, inbox: &std::path::Path, operator_address: &str) -> Self {
        Self {
            sender: Arc::new(crate::mail::outbox::OutboxSender::new(outbox)),
            inbox: Arc::new(crate::mail::maildir::MaildirInbox::new(inbox)),
            operator_address: operator_address.to_string(),
        }
    }
}
