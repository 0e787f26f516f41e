//! `/api/v1/campaigns`: list, get, create, update, pause and resume — the
//! tenant's own campaigns only; another tenant's id is a 404.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::page::{Page, PageQuery};
use super::problem::Problem;
use crate::domain::campaign_def::CampaignDef;
use crate::domain::model::{Campaign, CampaignStatus, Role};

/// A campaign as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CampaignView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `PAUSED` or `DONE`.
    pub status: &'static str,
    /// Why it is in that status.
    pub status_reason: String,
    /// Who set the status (`cli:alice`, `api:<token id>`, `decision-rule:…`).
    pub status_actor: String,
    /// When.
    pub status_changed_at: chrono::DateTime<chrono::Utc>,
    /// `live` or `dry-run`.
    pub mode: &'static str,
    /// Leads by state (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leads: Option<BTreeMap<&'static str, u64>>,
    /// The definition, in the shape `POST /campaigns` takes (only detailed views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<CampaignDef>,
}

impl CampaignView {
    fn of(campaign: &Campaign) -> CampaignView {
        CampaignView {
            id: campaign.id,
            name: campaign.config.name.clone(),
            status: campaign.status.as_str(),
            status_reason: campaign.status_reason.clone(),
            status_actor: campaign.status_actor.clone(),
            status_changed_at: campaign.status_changed_at,
            mode: if campaign.config.live { "live" } else { "dry-run" },
            leads: None,
            definition: None,
        }
    }
}

/// `POST /campaigns`: a campaign definition (the fields of a campaign file)
/// and whether to start it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    /// The definition; what it leaves out of the tenant's `defaults`
    /// (daily cap, send window) comes from its settings.
    #[schemars(with = "CampaignDef")]
    pub definition: serde_json::Value,
    /// Start it at once (default: created paused).
    #[serde(default)]
    pub start: bool,
}

/// `PUT /campaigns/{id}`: the whole new definition, as `POST /campaigns` takes it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    /// The definition (the fields of a campaign file).
    pub definition: CampaignDef,
}

/// `POST /campaigns/{id}/pause` and `/resume`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// Why, recorded with who did it.
    pub reason: String,
}

/// `GET /campaigns`.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<CampaignView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let campaigns = state.store.list_campaigns(tenant).await?;
    let page = query.select(campaigns, |c| c.id)?;
    Ok(Json(page.map(|c| CampaignView::of(&c))))
}

/// `GET /campaigns/{id}`.
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CampaignView>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let campaign = state.store.get_campaign(tenant, id).await?;
    Ok(Json(detailed(&state, &campaign).await?))
}

async fn detailed(state: &ApiState, campaign: &Campaign) -> Result<CampaignView, Problem> {
    let counts = state
        .store
        .count_leads_by_state(&campaign.tenant_id, campaign.id)
        .await?;
    let mut view = CampaignView::of(campaign);
    view.leads = Some(counts.into_iter().map(|(s, n)| (s.as_str(), n)).collect());
    view.definition = Some(CampaignDef::from_stored(&campaign.config));
    Ok(view)
}

/// `POST /campaigns`.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<CreateCampaign>,
) -> Result<(StatusCode, Json<CampaignView>), Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let definition = with_tenant_defaults(&state, tenant, request.definition).await?;
    let new = definition.to_new_campaign()?;
    let campaign = state.store.create_campaign(tenant, &new).await?;
    let (status, reason) = if request.start {
        (CampaignStatus::Running, "started when created")
    } else {
        (CampaignStatus::Paused, "created; not started yet")
    };
    let campaign = state
        .store
        .set_campaign_status(tenant, campaign.id, status, reason, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(detailed(&state, &campaign).await?)))
}

/// `definition` with what it leaves out of a hosted tenant's defaults filled
/// in, read as a campaign definition.
async fn with_tenant_defaults(
    state: &ApiState,
    tenant: &str,
    mut definition: serde_json::Value,
) -> Result<CampaignDef, Problem> {
    if let Some((opened, _)) = state
        .app
        .tenant_settings(tenant)
        .await
        .map_err(|e| Problem::internal_anyhow(&e))?
    {
        opened.settings.defaults.apply(&mut definition);
    }
    serde_json::from_value(definition).map_err(|e| {
        Problem::invalid(
            format!("the definition does not have the expected fields: {e}"),
            Vec::new(),
        )
    })
}

/// `PUT /campaigns/{id}`: replaces the definition (name included), checked
/// as `POST /campaigns` checks it; the status stays as it is.
pub async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(request): Body<UpdateCampaign>,
) -> Result<Json<CampaignView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let new = request.definition.to_new_campaign()?;
    // Scoped to the caller's tenant: another tenant's id is a 404.
    let campaign = state.store.update_campaign_config(tenant, id, &new).await?;
    Ok(Json(detailed(&state, &campaign).await?))
}

/// `POST /campaigns/{id}/pause`.
pub async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(change): Body<StatusChange>,
) -> Result<Json<CampaignView>, Problem> {
    set_status(&state, &caller, id, CampaignStatus::Paused, change).await
}

/// `POST /campaigns/{id}/resume`.
pub async fn resume(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(change): Body<StatusChange>,
) -> Result<Json<CampaignView>, Problem> {
    set_status(&state, &caller, id, CampaignStatus::Running, change).await
}

async fn set_status(
    state: &ApiState,
    caller: &Caller,
    id: i64,
    status: CampaignStatus,
    change: StatusChange,
) -> Result<Json<CampaignView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let reason = change.reason.trim();
    if reason.is_empty() {
        return Err(Problem::invalid_field("reason", "must say why, for whoever looks next"));
    }
    // Scoped to the caller's tenant: another tenant's id is a 404.
    let campaign = state
        .store
        .set_campaign_status(tenant, id, status, reason, &caller.actor())
        .await?;
    Ok(Json(detailed(state, &campaign).await?))
}
