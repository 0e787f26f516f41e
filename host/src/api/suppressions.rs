//! `/api/v1/suppressions`: the tenant's suppressed addresses and domains —
//! list and add (an operator's manual entry).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::page::{Page, PageQuery};
use super::problem::{FieldError, Problem};
use crate::domain::email::{normalize, normalize_domain};
use crate::domain::model::{Role, Suppression, SuppressionKind, SuppressionReason};

/// `POST /suppressions`: exactly one of `address` and `domain`.
#[derive(Debug, Deserialize)]
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
    let entries = state.store.list_suppressions(tenant).await?;
    let numbered: Vec<(i64, Suppression)> = entries.into_iter().zip(1..).map(|(s, i)| (i, s)).collect();
    let page = query.select(numbered, |(i, _)| *i)?;
    Ok(Json(page.map(|(_, s)| s)))
}

/// `POST /suppressions`.
pub async fn add(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<AddSuppression>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let invalid = |field: &str, message: String| {
        Problem::invalid(
            format!("{field}: {message}"),
            vec![FieldError {
                field: field.to_string(),
                message,
            }],
        )
    };
    let (kind, value) = match (&request.address, &request.domain) {
        (Some(address), None) => (
            SuppressionKind::Address,
            normalize(address)
                .map_err(|e| invalid("address", e.to_string()))?
                .as_str()
                .to_string(),
        ),
        (None, Some(domain)) => (
            SuppressionKind::Domain,
            normalize_domain(domain).map_err(|e| invalid("domain", e.to_string()))?,
        ),
        _ => return Err(invalid("address", "give exactly one of `address` and `domain`".into())),
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
