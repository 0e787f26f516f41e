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
mod cycle;
mod decide;
mod discover;
mod enrich;
mod env;
pub mod error;
mod follow_up;
mod inbox;
pub mod metrics;
pub mod report;
mod schedule;
mod score;
mod send;
pub mod step;
mod wire;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use classify::{classifier_headers, label_name};
pub use cycle::Cycle;
pub use env::CycleEnv;
pub use report::{CycleReport, StateChange, StepFailure, StepReport, StepStatus};
pub use step::{Moves, Step, StepOutcome};

use crate::mail::unsubscribe::UnsubscribeLinks;
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

/// Live mail: SMTP out, IMAP in.
#[derive(Clone)]
pub struct LiveMail {
    /// Sends through SMTP.
    pub sender: Arc<dyn Sender>,
    /// Reads replies over IMAP.
    pub inbox: Arc<dyn InboxSource>,
    /// The tenant these mailboxes belong to (the config's tenant).
    pub tenant: String,
}

/// How the cycle sends and reads mail.
#[derive(Clone)]
pub struct Transports {
    /// Outreach and operator alerts go out through this.
    pub sender: Arc<dyn Sender>,
    /// Replies come in through this.
    pub inbox: Arc<dyn InboxSource>,
    /// Where alert emails go; `None` sends no alert emails (webhook only).
    pub operator_address: Option<String>,
    /// Where alerts are posted too, if anywhere.
    pub webhook: Option<Arc<crate::webhook::Webhook>>,
    /// Signs the one-click unsubscribe links of every message.
    pub unsubscribe: Arc<UnsubscribeLinks>,
    /// What live campaigns use instead of the dry-run pair above; `None`
    /// when `cam.toml` configures no SMTP.
    pub live: Option<LiveMail>,
    /// Whether `sender` and `inbox` are the live ones.
    pub is_live: bool,
    /// Who the tenant's messages are from when a campaign lists no
    /// mailboxes (a hosted tenant's sender identity).
    pub identity: Option<crate::tenancy::SenderIdentity>,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("sender", &self.sender.describe())
            .field("inbox", &self.inbox.mailbox())
            .field("operator_address", &self.operator_address)
            .field("webhook", &self.webhook.as_ref().map(|w| w.url().to_string()))
            .field("live", &self.live.as_ref().map(|l| l.sender.describe()))
            .finish()
    }
}

impl Transports {
    /// Dry-run transports: the outbox folder and the inbox Maildir, links
    /// signed with `unsubscribe`.
    pub fn dry_run(
        outbox: &std::path::Path,
        inbox: &std::path::Path,
        operator_address: &str,
        unsubscribe: Arc<UnsubscribeLinks>,
    ) -> Self {
        Self {
            sender: Arc::new(crate::mail::outbox::OutboxSender::new(outbox)),
            inbox: Arc::new(crate::mail::maildir::MaildirInbox::new(inbox)),
            operator_address: Some(operator_address.to_string()),
            webhook: None,
            unsubscribe,
            live: None,
            is_live: false,
            identity: None,
        }
    }

    /// The transports a campaign runs on: the live pair for a live
    /// campaign (an error naming what to configure when there is none),
    /// these dry-run ones otherwise.
    pub fn for_campaign(&self, campaign: &crate::domain::model::Campaign) -> anyhow::Result<Transports> {
        if !campaign.config.live {
            return Ok(Transports {
                is_live: false,
                ..self.clone()
            });
        }
        let live = self.live.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "campaign {:?} is live, but its tenant has no live mail configured: add [[mail.smtp]] and \
                 [[mail.imap]] entries (cam.toml, or a hosted tenant's settings; see the README), or set \
                 `live = false` to run it in dry-run mode",
                campaign.config.name
            )
        })?;
        if live.tenant != campaign.tenant_id {
            anyhow::bail!(
                "campaign {:?} of tenant {:?} is live, but the mailboxes in cam.toml belong to tenant {:?}; \
                 run a worker with that tenant's config for it",
                campaign.config.name,
                campaign.tenant_id,
                live.tenant
            );
        }
        Ok(Transports {
            sender: live.sender.clone(),
            inbox: live.inbox.clone(),
            is_live: true,
            ..self.clone()
        })
    }
}
