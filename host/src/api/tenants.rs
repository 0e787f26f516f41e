//! `/api/v1/tenants`: the hosting operator's routes — list, create, disable
//! and enable tenants. No tenant token reaches them, and they reach nothing
//! inside a tenant.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::page::{Page, PageQuery};
use super::problem::Problem;
use crate::domain::model::{Tenant, TenantCeilings};
use crate::domain::name;

/// A tenant as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TenantView {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was disabled.
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What its plugins may use at most (`null`: the process's limit).
    pub ceilings: TenantCeilings,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> TenantView {
        TenantView {
            status: t.status(),
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            disabled_at: t.disabled_at,
            ceilings: t.ceilings,
        }
    }
}

/// `POST /tenants`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Its id: a-z, 0-9, '-' and '_', at most 40 characters.
    pub id: String,
    /// A display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /tenants`: every tenant, paged by their position in id order.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<TenantView>>, Problem> {
    caller.host()?;
    // Ids are text; the cursor is the position in id order.
    let page = query.select_by_position(state.store.list_tenants().await?)?;
    Ok(Json(page.map(TenantView::from)))
}

/// `POST /tenants`.
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<CreateTenant>,
) -> Result<(StatusCode, Json<TenantView>), Problem> {
    caller.host()?;
    name::validate("tenant id", &request.id).map_err(|e| Problem::invalid_field("id", e.to_string()))?;
    let display = request.name.as_deref().unwrap_or(&request.id);
    let tenant = state.store.create_tenant(&request.id, display).await?;
    // Hosted: the tenant's own unsubscribe key is made and sealed now.
    if state.app.config().server_key_file().is_some() {
        let sealed = match crate::tenancy::server_keys(state.app.config()) {
            Ok(keys) => crate::tenancy::save_settings(
                state.store.as_ref(),
                &keys,
                &tenant.id,
                crate::tenancy::TenantSettings::default(),
            )
            .await
            .map(|_| ())
            .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = sealed {
            return Err(Problem::internal_anyhow(&e));
        }
    }
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// `POST /tenants/{id}/disable`.
pub async fn disable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, Problem> {
    caller.host()?;
    Ok(Json(state.store.set_tenant_disabled(&id, true).await?.into()))
}

/// `POST /tenants/{id}/enable`.
pub async fn enable(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, Problem> {
    caller.host()?;
    Ok(Json(state.store.set_tenant_disabled(&id, false).await?.into()))
}

/// `PUT /tenants/{id}/ceilings`: replaces the tenant's ceilings (a field
/// left out or `null` keeps the process's limit).
pub async fn ceilings(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(ceilings): Body<TenantCeilings>,
) -> Result<Json<TenantView>, Problem> {
    caller.host()?;
    for (field, value) in [
        ("max_memory_mib", ceilings.max_memory_mib.map(u64::from)),
        ("max_timeout_ms", ceilings.max_timeout_ms),
        ("max_kv_bytes", ceilings.max_kv_bytes),
        ("max_concurrent_calls", ceilings.max_concurrent_calls.map(u64::from)),
    ] {
        if value == Some(0) {
            return Err(Problem::invalid_field(
                field,
                "must be at least 1, or null for the process's limit",
            ));
        }
    }
    Ok(Json(state.store.set_tenant_ceilings(&id, ceilings).await?.into()))
}
