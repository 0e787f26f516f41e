//! How the API shows a lead: a summary in lists; with its suppression,
//! attributes, transitions, emails and replies when asked for one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::replies::ReplyView;
use crate::domain::model::{Lead, LeadTransition};

/// A lead's score and where it came from.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ScoreView {
    /// In 0..=1.
    pub value: f64,
    /// The scorer's reasons, in words.
    pub reasons: Vec<String>,
    /// The scorer plugin version that gave it.
    pub plugin_version: Option<String>,
}

/// One recorded move of a lead.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TransitionView {
    /// State before.
    pub from: &'static str,
    /// State after.
    pub to: &'static str,
    /// Why.
    pub reason: String,
    /// Who: the person's token (`api:<id>`), else the plugin version, else `pipeline`.
    pub who: String,
    /// The plugin version that caused it, if a plugin did.
    pub plugin_version: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl TransitionView {
    /// The view of a recorded transition.
    pub fn of(t: LeadTransition) -> TransitionView {
        let who = t
            .actor
            .clone()
            .or_else(|| t.plugin_version.clone())
            .unwrap_or_else(|| "pipeline".to_string());
        TransitionView {
            from: t.from.as_str(),
            to: t.to.as_str(),
            reason: t.reason,
            who,
            plugin_version: t.plugin_version,
            at: t.at,
        }
    }
}

/// One email of a lead's sequence.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EmailView {
    /// The email's id.
    pub id: i64,
    /// The sequence step (0: the first email).
    pub step: u32,
    /// The subject as sent.
    pub subject: String,
    /// `QUEUED`, `SENDING`, `SENT`, `FAILED` or `UNCERTAIN`.
    pub status: &'static str,
    /// The mailbox it goes out from.
    pub mailbox: String,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When the mail server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Why it failed or is uncertain.
    pub error: Option<String>,
}

/// A lead as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LeadView {
    /// Its id.
    pub id: i64,
    /// The campaign that found it.
    pub campaign_id: i64,
    /// The address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company.
    pub company: String,
    /// Company domain.
    pub domain: String,
    /// Job title.
    pub title: String,
    /// Country code.
    pub country: String,
    /// Lifecycle state.
    pub state: &'static str,
    /// The score, once scored (the latest; the store keeps no older ones).
    pub score: Option<ScoreView>,
    /// Sequence steps sent.
    pub current_step: u32,
    /// When the pipeline acts on it next (`null`: nothing scheduled).
    pub next_action_at: Option<DateTime<Utc>>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Whether its address or domain is suppressed (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<bool>,
    /// Anything else its source knows (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Every state change, oldest first (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<TransitionView>>,
    /// Its emails, by step (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<EmailView>>,
    /// Its replies, oldest first (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<Vec<ReplyView>>,
}

impl LeadView {
    /// The summary view of a lead (no detailed parts).
    pub fn of(lead: Lead) -> LeadView {
        let score = lead.score.map(|value| ScoreView {
            value,
            reasons: lead.score_reasons.clone(),
            plugin_version: lead.scorer_version.clone(),
        });
        LeadView {
            id: lead.id,
            campaign_id: lead.campaign_id,
            email: lead.fields.email,
            first_name: lead.fields.first_name,
            last_name: lead.fields.last_name,
            company: lead.fields.company,
            domain: lead.fields.domain,
            title: lead.fields.title,
            country: lead.fields.country,
            state: lead.state.as_str(),
            score,
            current_step: lead.current_step,
            next_action_at: lead.next_action_at,
            created_at: lead.created_at,
            updated_at: lead.updated_at,
            suppressed: None,
            attributes: None,
            transitions: None,
            emails: None,
            replies: None,
        }
    }
}
