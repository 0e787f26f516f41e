//! `/api/v1/leads`: the tenant's leads — filtered lists, one lead with its
//! history (transitions, score, emails, replies), and what a person decides
//! about a lead: qualify, disqualify, suppress. Another tenant's lead is a
//! 404.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::lead_view::{EmailView, LeadView, TransitionView};
use super::page::{Page, PageQuery};
use super::params::Params;
use super::problem::Problem;
use super::replies::ReplyView;
use crate::domain::lifecycle::{self, ALL_STATES, LeadState};
use crate::domain::model::{Lead, LeadTransition, Role, SuppressionKind, SuppressionReason};
use crate::store::{InboundFilter, LeadFilter};

/// The longest `q` accepted: an address or a company name, not a document.
const MAX_QUERY_CHARS: usize = 200;
/// The most replies shown with one lead (a lead answers a handful of times).
const MAX_REPLIES_SHOWN: u32 = 100;

/// `GET /leads` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// Only leads in this state (`NEW`, `CONTACTED`...).
    pub state: Option<String>,
    /// Only leads scored at least this (0..=1).
    pub min_score: Option<f64>,
    /// Only leads scored at most this (0..=1).
    pub max_score: Option<f64>,
    /// Only leads of this campaign (its id).
    pub campaign: Option<i64>,
    /// Only leads whose address or company contains this, ignoring case.
    pub q: Option<String>,
    /// Items per page.
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// `POST /leads/{id}/qualify`, `/disqualify` and `/suppress`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadDecision {
    /// Why, recorded with who decided.
    pub reason: String,
}

/// `GET /leads`.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<LeadQuery>,
) -> Result<Json<Page<LeadView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let filter = filter_of(&query)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = page.bounds()?;
    let fetch = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let leads = state.store.list_leads(tenant, &filter, after, fetch).await?;
    Ok(Json(Page::from_rows(leads, limit, |l| l.id).map(LeadView::of)))
}

/// The store's filter of a `GET /leads` query, each bad value a 422 naming its parameter.
fn filter_of(query: &LeadQuery) -> Result<LeadFilter, Problem> {
    let state = query.state.as_deref().map(parse_state).transpose()?;
    for (name, score) in [("min_score", query.min_score), ("max_score", query.max_score)] {
        if score.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
            return Err(Problem::invalid_field(name, "must be a score between 0 and 1"));
        }
    }
    if let (Some(min), Some(max)) = (query.min_score, query.max_score)
        && min > max
    {
        return Err(Problem::invalid_field(
            "max_score",
            format!("is below min_score ({min}); no lead can match"),
        ));
    }
    let text = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
            return Err(Problem::invalid_field(
                "q",
                format!("is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        Some(q) => Some(q.to_string()),
    };
    Ok(LeadFilter {
        state,
        campaign_id: query.campaign,
        min_score: query.min_score,
        max_score: query.max_score,
        text,
    })
}

fn parse_state(name: &str) -> Result<LeadState, Problem> {
    let upper = name.trim().to_ascii_uppercase();
    ALL_STATES.into_iter().find(|s| s.as_str() == upper).ok_or_else(|| {
        let names: Vec<&str> = ALL_STATES.iter().map(|s| s.as_str()).collect();
        Problem::invalid_field(
            "state",
            format!("{name:?} is not a state; use one of {}", names.join(", ")),
        )
    })
}

/// `GET /leads/{id}`.
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<LeadView>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    Ok(Json(detailed(&state, tenant, id).await?))
}

/// The lead with its history; 404 when the tenant has no such lead.
async fn detailed(state: &ApiState, tenant: &str, id: i64) -> Result<LeadView, Problem> {
    let lead = state.store.get_lead(tenant, id).await?;
    let suppressed = state.store.is_suppressed(tenant, &lead.fields.email).await?;
    let transitions = state.store.lead_transitions(tenant, id).await?;
    let emails = state.store.lead_emails(tenant, id).await?;
    let filter = InboundFilter {
        matched: true,
        lead_id: Some(id),
        ..InboundFilter::default()
    };
    let replies = state.store.list_inbound(tenant, &filter, 0, MAX_REPLIES_SHOWN).await?;
    let attributes = lead.fields.attributes.clone();
    let mut view = LeadView::of(lead);
    view.suppressed = Some(suppressed);
    view.attributes = Some(attributes);
    view.transitions = Some(transitions.into_iter().map(TransitionView::of).collect());
    view.emails = Some(
        emails
            .into_iter()
            .map(|e| EmailView {
                id: e.id,
                step: e.email.step,
                subject: e.email.subject,
                status: e.state.as_str(),
                mailbox: e.email.mailbox,
                queued_at: e.queued_at,
                sent_at: e.sent_at,
                error: e.error,
            })
            .collect(),
    );
    view.replies = Some(replies.into_iter().map(ReplyView::of).collect());
    Ok(view)
}

/// `POST /leads/{id}/qualify`: INTERESTED → QUALIFIED.
pub async fn qualify(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(decision): Body<LeadDecision>,
) -> Result<Json<LeadView>, Problem> {
    decide(&state, &caller, id, LeadState::Qualified, decision).await
}

/// `POST /leads/{id}/disqualify`: any state not final → LOST.
pub async fn disqualify(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(decision): Body<LeadDecision>,
) -> Result<Json<LeadView>, Problem> {
    decide(&state, &caller, id, LeadState::Lost, decision).await
}

/// Moves a lead to `to`, recording why and the token, and stops its sequence.
async fn decide(
    state: &ApiState,
    caller: &Caller,
    id: i64,
    to: LeadState,
    decision: LeadDecision,
) -> Result<Json<LeadView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let reason = reason_of(&decision)?;
    let lead = state.store.get_lead(tenant, id).await?;
    if lifecycle::transition(lead.state, to).is_err() {
        return Err(not_allowed(&lead, to));
    }
    let transition = LeadTransition {
        lead_id: id,
        from: lead.state,
        to,
        reason: reason.to_string(),
        plugin_version: None,
        actor: Some(caller.actor()),
        at: Utc::now(),
    };
    // The store refuses (409) if the lead moved since it was read.
    state.store.transition_lead(tenant, &transition).await?;
    // Both outcomes end the sequence: nothing more is sent to the lead.
    state
        .store
        .set_lead_schedule(tenant, id, lead.current_step, None)
        .await?;
    Ok(Json(detailed(state, tenant, id).await?))
}

/// 409 for a move the lifecycle does not have: the lead's state, the moves
/// it allows and which route makes each.
fn not_allowed(lead: &Lead, to: LeadState) -> Problem {
    let allowed: Vec<&'static str> = lead.state.next_states().map(LeadState::as_str).collect();
    let rule = match to {
        LeadState::Qualified => {
            "a lead is qualified only from INTERESTED (after a positive reply): the lifecycle has no other way to QUALIFIED"
        }
        _ => "a lead can be disqualified (LOST) from any state that is not final (QUALIFIED, LOST, DEAD)",
    };
    let moves = if allowed.is_empty() {
        "it is final, so it cannot move at all".to_string()
    } else {
        format!("from there it may move to {}", allowed.join(", "))
    };
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        format!("lead {} is {}; {rule}; {moves}", lead.id, lead.state.as_str()),
    )
    .with("current_state", lead.state.as_str())
    .with("allowed_moves", allowed)
}

/// `POST /leads/{id}/suppress`: never write to the lead's address again
/// (recorded as a manual suppression with why and the token), and stop
/// its sequence. Its state is left as it is: suppression is not a state.
pub async fn suppress(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(decision): Body<LeadDecision>,
) -> Result<Json<LeadView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let reason = reason_of(&decision)?;
    let lead = state.store.get_lead(tenant, id).await?;
    let note = format!("{reason} ({}, lead {id})", caller.actor());
    state
        .store
        .add_suppression(
            tenant,
            SuppressionKind::Address,
            &lead.fields.email,
            SuppressionReason::Manual,
            &note,
        )
        .await?;
    state
        .store
        .set_lead_schedule(tenant, id, lead.current_step, None)
        .await?;
    Ok(Json(detailed(&state, tenant, id).await?))
}

fn reason_of(decision: &LeadDecision) -> Result<&str, Problem> {
    let reason = decision.reason.trim();
    if reason.is_empty() {
        Err(Problem::invalid_field("reason", "must say why, for whoever looks next"))
    } else {
        Ok(reason)
    }
}
