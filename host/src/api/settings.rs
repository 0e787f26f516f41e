//! `/api/v1/settings`: a hosted tenant's own settings — its mailboxes,
//! alert channels and sender identity — for its admins. Secrets are sealed
//! in the database and always shown as `"***"`; sending `"***"` back (or
//! leaving a secret out) keeps the stored one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::tenancy::{SaveError, TenantSettings};

/// The settings as shown.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    /// Grows with every change; 0 before the first.
    pub revision: i64,
    /// Whether the tenant has settings in the database; `false` for the
    /// config file's own tenant (configured by `cam.toml`) until it is
    /// given some.
    pub in_database: bool,
    /// The settings, every secret `"***"`.
    pub settings: TenantSettings,
}

/// `GET /settings`.
pub async fn get(State(state): State<ApiState>, caller: Caller) -> Result<Json<SettingsView>, Problem> {
    let tenant = caller.tenant(Role::Admin)?;
    let opened = state
        .app
        .tenant_settings(tenant)
        .await
        .map_err(|e| Problem::internal_anyhow(&e))?;
    Ok(Json(match opened {
        Some((opened, revision)) => SettingsView {
            revision,
            in_database: true,
            settings: opened.settings.redacted(),
        },
        None => SettingsView {
            revision: 0,
            in_database: false,
            settings: TenantSettings::default(),
        },
    }))
}

/// `PUT /settings`: replaces the settings.
pub async fn put(
    State(state): State<ApiState>,
    caller: Caller,
    Body(wanted): Body<TenantSettings>,
) -> Result<Json<SettingsView>, Problem> {
    let tenant = caller.tenant(Role::Admin)?;
    let keys = crate::tenancy::server_keys(state.app.config()).map_err(|e| {
        tracing::error!("settings cannot be sealed: {e:#}");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no server key to seal settings with; ask the hosting operator",
        )
    })?;
    match crate::tenancy::save_settings(state.store.as_ref(), &keys, tenant, wanted).await {
        Ok((saved, revision)) => {
            tracing::info!(tenant = %tenant, actor = %caller.actor(), revision, "tenant settings changed");
            Ok(Json(SettingsView {
                revision,
                in_database: true,
                settings: saved.redacted(),
            }))
        }
        Err(SaveError::Invalid(problems)) => Err(Problem::fields(
            "the settings are not valid; fix the fields listed in `errors`",
            problems,
        )),
        Err(SaveError::Other(e)) => Err(Problem::internal_anyhow(&e)),
    }
}
