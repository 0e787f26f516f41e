//! Step 9, metrics: per campaign, step and mailbox — sent, replied,
//! positive, bounced, unsubscribed, and their rates.
//!
//! Sends are counted from the stored emails. Reply outcomes are counted by
//! `classify` as it applies labels, into a small host-owned record kept in
//! the key-value table under the namespace [`NAMESPACE`] (a name no plugin
//! can have, since plugin names cannot contain `:`), so they survive across
//! cycles without a dedicated table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::env::CycleEnv;
use super::step::{Moves, Step, StepOutcome};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::EmailState;
use crate::store::{Store, StoreResult};

/// The kv namespace of the host's reply counters.
pub const NAMESPACE: &str = "cam:metrics";
/// Size cap of the counters record (a few hundred bytes per step in practice).
const QUOTA_BYTES: u64 = 1 << 20;

/// Reply outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyCounts {
    /// Human replies (bounces and auto-replies excluded).
    pub replied: u64,
    /// Interested (and questions, which a human should answer).
    pub positive: u64,
    /// Not interested.
    pub negative: u64,
    /// Hard and soft bounces.
    pub bounced: u64,
    /// Unsubscribe requests.
    pub unsubscribed: u64,
    /// Spam complaints.
    pub complaints: u64,
    /// 5.7.x policy blocks: a sender-health signal (the sending mailbox or
    /// its domain is being refused), never held against the address.
    #[serde(default)]
    pub blocked: u64,
}

/// The stored counters: per campaign and per step (0-based).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyCounters {
    /// Whole campaign.
    pub total: ReplyCounts,
    /// By the step the reply answered.
    pub by_step: BTreeMap<u32, ReplyCounts>,
}

impl ReplyCounters {
    /// Applies `f` to the campaign's and the step's counts.
    pub fn record(&mut self, step: Option<u32>, f: impl Fn(&mut ReplyCounts)) {
        f(&mut self.total);
        if let Some(step) = step {
            f(self.by_step.entry(step).or_default());
        }
    }
}

fn key(campaign_id: i64) -> String {
    format!("campaign:{campaign_id}")
}

/// Loads a campaign's counters (zero when none yet).
pub async fn load(store: &dyn Store, tenant: &str, campaign_id: i64) -> StoreResult<ReplyCounters> {
    let bytes = store.kv_get(tenant, NAMESPACE, &key(campaign_id)).await?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default())
}

/// Saves a campaign's counters.
pub async fn save(store: &dyn Store, tenant: &str, campaign_id: i64, counters: &ReplyCounters) -> StoreResult<()> {
    let bytes = serde_json::to_vec(counters).unwrap_or_default();
    store
        .kv_set(tenant, NAMESPACE, &key(campaign_id), &bytes, QUOTA_BYTES)
        .await
}

/// One step's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Emails that left (SENT) or may have (UNCERTAIN).
    pub sent: u64,
    /// Reply outcomes.
    pub replies: ReplyCounts,
}

/// A campaign's numbers since it started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignMetrics {
    /// Emails sent.
    pub sent: u64,
    /// Reply outcomes.
    pub replies: ReplyCounts,
    /// QUALIFIED leads.
    pub qualified: u64,
    /// Per step (1-based in the key for people).
    pub by_step: BTreeMap<u32, StepMetrics>,
    /// Sent per mailbox.
    pub sent_by_mailbox: BTreeMap<String, u64>,
    /// Leads per state.
    pub leads_by_state: Vec<(LeadState, u64)>,
    /// replied / sent.
    pub reply_rate: f64,
    /// positive / sent.
    pub positive_rate: f64,
    /// bounced / sent.
    pub bounce_rate: f64,
    /// unsubscribed / sent.
    pub unsubscribe_rate: f64,
}

fn rate(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// Computes a campaign's metrics from the store.
pub async fn compute(store: &dyn Store, tenant: &str, campaign_id: i64) -> StoreResult<CampaignMetrics> {
    let mut m = CampaignMetrics::default();
    for state in [EmailState::Sent, EmailState::Uncertain] {
        for email in store
            .emails_in_state(tenant, Some(campaign_id), state, u32::MAX)
            .await?
        {
            m.sent += 1;
            m.by_step.entry(email.email.step + 1).or_default().sent += 1;
            *m.sent_by_mailbox.entry(email.email.mailbox).or_default() += 1;
        }
    }
    let counters = load(store, tenant, campaign_id).await?;
    m.replies = counters.total;
    for (step, counts) in counters.by_step {
        m.by_step.entry(step + 1).or_default().replies = counts;
    }
    m.leads_by_state = store.count_leads_by_state(tenant, campaign_id).await?;
    m.qualified = m
        .leads_by_state
        .iter()
        .find(|(s, _)| *s == LeadState::Qualified)
        .map_or(0, |(_, n)| *n);
    m.reply_rate = rate(m.replies.replied, m.sent);
    m.positive_rate = rate(m.replies.positive, m.sent);
    m.bounce_rate = rate(m.replies.bounced, m.sent);
    m.unsubscribe_rate = rate(m.replies.unsubscribed, m.sent);
    Ok(m)
}

/// Runs the step: the metrics, for the decision rules.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome<Option<CampaignMetrics>> {
    let mut report = Step::Metrics.report();
    match compute(env.store.as_ref(), &env.tenant, env.campaign.id).await {
        Ok(m) => {
            report.add("sent", m.sent);
            report.add("replied", m.replies.replied);
            report.add("positive", m.replies.positive);
            report.add("bounced", m.replies.bounced);
            report.add("unsubscribed", m.replies.unsubscribed);
            report.add("complaints", m.replies.complaints);
            report.add("blocked", m.replies.blocked);
            if m.replies.blocked > 0 {
                report.note(format!(
                    "sender health: {} deliveries refused by policy (5.7.x); check the mailboxes' reputation",
                    m.replies.blocked
                ));
            }
            report.note(format!(
                "reply rate {:.1}%, positive {:.1}%, bounce {:.1}%, unsubscribe {:.1}%",
                m.reply_rate * 100.0,
                m.positive_rate * 100.0,
                m.bounce_rate * 100.0,
                m.unsubscribe_rate * 100.0
            ));
            for (step, s) in &m.by_step {
                report.note(format!(
                    "step {step}: sent {}, replied {}, positive {}",
                    s.sent, s.replies.replied, s.replies.positive
                ));
            }
            StepOutcome {
                report,
                moves: Moves::default(),
                output: Some(m),
            }
        }
        Err(e) => report.failed("store", format!("cannot compute metrics: {e}")).into(),
    }
}
