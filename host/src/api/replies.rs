//! `/api/v1/replies`: messages that answered the tenant's emails, with the
//! classifier's label; a person's relabelling, recorded; and the messages
//! matched to no lead. Another tenant's message is a 404.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::page::{Page, PageQuery};
use super::params::Params;
use super::problem::Problem;
use crate::domain::model::{InboundMessage, Role};
use crate::domain::reply_label::{STORED_LABELS, is_stored_label};
use crate::store::{InboundFilter, ReplyRelabel};

/// A reply (or an unmatched message) as the API shows it: without the raw
/// bytes.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReplyView {
    /// Its id.
    pub id: i64,
    /// The lead it answers (`null`: matched to none).
    pub lead_id: Option<i64>,
    /// The mailbox it arrived in.
    pub mailbox: String,
    /// The sender.
    pub from: String,
    /// Its subject.
    pub subject: String,
    /// Its plain-text body.
    pub body_text: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The label (`interested`, `bounce-hard`...; `null`: not classified yet).
    pub label: Option<String>,
    /// The classifier's confidence in 0..=1 (1 for a person's label).
    pub confidence: Option<f64>,
    /// The classifier version that labelled it, or the person (`api:<id>`) who relabelled it.
    pub classifier_version: Option<String>,
    /// Whether a person was alerted about it.
    pub alert_sent: bool,
    /// Every relabelling, oldest first (only after `relabel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relabels: Option<Vec<ReplyRelabel>>,
}

impl ReplyView {
    /// The view of a stored message.
    pub fn of(message: InboundMessage) -> ReplyView {
        ReplyView {
            id: message.id,
            lead_id: message.matched_lead_id,
            mailbox: message.message.mailbox,
            from: message.message.from_address,
            subject: message.message.subject,
            body_text: message.message.body_text,
            received_at: message.message.received_at,
            label: message.label,
            confidence: message.label_confidence,
            classifier_version: message.classifier_version,
            alert_sent: message.alert_sent,
            relabels: None,
        }
    }
}

/// `GET /replies` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyQuery {
    /// Only replies with this label.
    pub label: Option<String>,
    /// Only replies from leads of this campaign (its id).
    pub campaign: Option<i64>,
    /// Items per page.
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// `POST /replies/{id}/relabel`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relabel {
    /// The right label.
    pub label: String,
    /// Why, recorded with who relabelled it.
    pub reason: String,
}

/// `GET /replies`: replies matched to a lead, oldest first.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<ReplyQuery>,
) -> Result<Json<Page<ReplyView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let label = query.label.as_deref().map(|l| known_label("label", l)).transpose()?;
    let filter = InboundFilter {
        matched: true,
        label,
        campaign_id: query.campaign,
        lead_id: None,
    };
    page(&state, tenant, &filter, query.limit, query.cursor).await
}

/// `GET /replies/unmatched` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedQuery {
    /// Items per page.
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// `GET /replies/unmatched`: inbound messages matched to no lead (so to no
/// campaign), oldest first.
pub async fn unmatched(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<UnmatchedQuery>,
) -> Result<Json<Page<ReplyView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let filter = InboundFilter {
        matched: false,
        ..InboundFilter::default()
    };
    page(&state, tenant, &filter, query.limit, query.cursor).await
}

async fn page(
    state: &ApiState,
    tenant: &str,
    filter: &InboundFilter,
    limit: Option<usize>,
    cursor: Option<String>,
) -> Result<Json<Page<ReplyView>>, Problem> {
    let (limit, after) = PageQuery { limit, cursor }.bounds()?;
    let fetch = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let messages = state.store.list_inbound(tenant, filter, after, fetch).await?;
    Ok(Json(Page::from_rows(messages, limit, |m| m.id).map(ReplyView::of)))
}

/// `POST /replies/{id}/relabel`: a person's label replaces the classifier's,
/// recorded with the label it replaced, why, who and when. The lead's
/// state and the suppression list are left as they are.
pub async fn relabel(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(request): Body<Relabel>,
) -> Result<Json<ReplyView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let label = known_label("label", &request.label)?;
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(Problem::invalid_field("reason", "must say why, for whoever looks next"));
    }
    state
        .store
        .relabel_inbound(tenant, id, &label, reason, &caller.actor())
        .await?;
    let mut view = ReplyView::of(state.store.get_inbound(tenant, id).await?);
    view.relabels = Some(state.store.inbound_relabels(tenant, id).await?);
    Ok(Json(view))
}

/// `label` lower-cased, when it is one the host stores; a 422 naming `field` otherwise.
fn known_label(field: &str, label: &str) -> Result<String, Problem> {
    let label = label.trim().to_ascii_lowercase();
    if is_stored_label(&label) {
        Ok(label)
    } else {
        Err(Problem::invalid_field(
            field,
            format!("{label:?} is not a label; use one of {}", STORED_LABELS.join(", ")),
        ))
    }
}
