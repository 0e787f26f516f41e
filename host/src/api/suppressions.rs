//! `/api/v1/suppressions`: the tenant's suppressed addresses and domains —
//! list, add (an operator's manual entry) and remove (recorded; never what
//! the recipient asked for, see [`may_be_lifted`]).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::page::{Page, PageQuery};
use super::params::Params;
use super::problem::Problem;
use crate::domain::email::{normalize, normalize_domain};
use crate::domain::model::{Role, Suppression, SuppressionKind, SuppressionReason};
use crate::domain::suppression::may_be_lifted;

/// `POST /suppressions`: exactly one of `address` and `domain`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSuppression {
    /// An address to stop writing to.
    #[serde(default)]
    pub address: Option<String>,
    /// A domain none of whose addresses are written to.
    #[serde(default)]
    pub domain: Option<String>,
    /// Why, for whoever looks next.
    #[serde(default)]
    pub note: String,
}

/// `GET /suppressions`: newest first, paged by position.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<Suppression>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    Ok(Json(
        query.select_by_position(state.store.list_suppressions(tenant).await?)?,
    ))
}

/// `POST /suppressions`.
pub async fn add(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<AddSuppression>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let (kind, value) = match (&request.address, &request.domain) {
        (Some(address), None) => (
            SuppressionKind::Address,
            normalize(address)
                .map_err(|e| Problem::invalid_field("address", e.to_string()))?
                .as_str()
                .to_string(),
        ),
        (None, Some(domain)) => (
            SuppressionKind::Domain,
            normalize_domain(domain).map_err(|e| Problem::invalid_field("domain", e.to_string()))?,
        ),
        _ => {
            return Err(Problem::invalid_field(
                "address",
                "give exactly one of `address` and `domain`",
            ));
        }
    };
    let note = if request.note.trim().is_empty() {
        caller.actor()
    } else {
        format!("{} ({})", request.note.trim(), caller.actor())
    };
    state
        .store
        .add_suppression(tenant, kind, &value, SuppressionReason::Manual, &note)
        .await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /suppressions/{value}` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Why it may be written to again, recorded with who removed it.
    #[serde(default)]
    pub reason: String,
}

/// `DELETE /suppressions/{value}`: `value` is an address (it has an `@`)
/// or a domain. Answers the removed entry; the removal is recorded.
pub async fn remove(
    State(state): State<ApiState>,
    caller: Caller,
    Path(value): Path<String>,
    Params(query): Params<RemoveQuery>,
) -> Result<Json<Suppression>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let (kind, value) = if value.contains('@') {
        let address = normalize(&value).map_err(|e| Problem::invalid_field("value", e.to_string()))?;
        (SuppressionKind::Address, address.as_str().to_string())
    } else {
        let domain = normalize_domain(&value).map_err(|e| Problem::invalid_field("value", e.to_string()))?;
        (SuppressionKind::Domain, domain)
    };
    let entry = state
        .store
        .get_suppression(tenant, kind, &value)
        .await?
        .ok_or_else(|| Problem::not_found("suppression"))?;
    if let Err(why) = may_be_lifted(entry.reason) {
        return Err(
            Problem::new(StatusCode::CONFLICT, format!("{value} stays suppressed: {why}"))
                .with("reason", entry.reason.as_str()),
        );
    }
    let removed = state
        .store
        .remove_suppression(tenant, kind, &value, query.reason.trim(), &caller.actor())
        .await?;
    Ok(Json(removed))
}
