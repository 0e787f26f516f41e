//! `/api/v1/tokens`: a tenant admin's tokens — list, create (the token is in
//! the answer, once), revoke. Only the caller's tenant's tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::problem::Problem;
use crate::domain::model::{ApiToken, Role};

/// A token as the API shows it (never its secret, except once on creation).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    /// Its public id.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Its label.
    pub name: String,
    /// When it was created.
    pub created_at: chrono::DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<Utc>>,
    /// When it was last accepted.
    pub last_used_at: Option<chrono::DateTime<Utc>>,
    /// The whole token: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> TokenView {
        TokenView {
            id: t.token.id,
            role: t.token.role,
            name: t.token.name,
            created_at: t.created_at,
            expires_at: t.token.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
            token: None,
        }
    }
}

/// `POST /tokens`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `viewer`, `operator` or `admin`.
    pub role: Role,
    /// A label for lists.
    #[serde(default)]
    pub name: String,
    /// Days until it expires (default 90; `null`: never).
    #[serde(default = "default_days")]
    pub expires_in_days: Option<u32>,
}

fn default_days() -> Option<u32> {
    Some(90)
}

/// `GET /tokens`.
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<TokenView>>, Problem> {
    let tenant = caller.tenant(Role::Admin)?;
    let tokens = state.store.list_tokens(Some(tenant)).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// `POST /tokens`.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<CreateToken>,
) -> Result<(StatusCode, Json<TokenView>), Problem> {
    let tenant = caller.tenant(Role::Admin)?;
    if request.role == Role::Host {
        return Err(Problem::invalid_field(
            "role",
            "a tenant admin cannot create hosting-operator tokens; use viewer, operator or admin",
        ));
    }
    let expires_at = request
        .expires_in_days
        .map(|days| Utc::now() + TimeDelta::days(i64::from(days)));
    let issued = crate::tokens::issue(&state.store, Some(tenant), request.role, &request.name, expires_at)
        .await
        .map_err(|e| match e {
            crate::tokens::IssueError::Store(e) => Problem::from(e),
            other => Problem::invalid(other.to_string(), Vec::new()),
        })?;
    let mut view = TokenView::from(issued.record);
    view.token = Some(issued.text);
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /tokens/{id}`: revoke.
pub async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(Role::Admin)?;
    let token = state.store.token_by_id(&id).await?;
    if token.is_none_or(|t| t.token.tenant_id.as_deref() != Some(tenant)) {
        return Err(Problem::not_found("token"));
    }
    state.store.revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
