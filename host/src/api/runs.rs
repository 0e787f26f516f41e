//! `POST /api/v1/campaigns/{id}/run`: a dry run of the campaign's next
//! cycle ([`crate::dry_run`]): its step report and the messages it would
//! send, with nothing of the real campaign changed.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::dry_run::DryRun;
use crate::pipeline::{Clock, FixedClock, SystemClock};

/// The body of `POST /campaigns/{id}/run`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Must be `true`: real cycles are the workers' (resume the campaign).
    pub dry_run: bool,
    /// Run as if it were this instant (RFC 3339), e.g. to preview inside
    /// the send window; now by default.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// `POST /campaigns/{id}/run`.
pub async fn run(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(request): Body<RunRequest>,
) -> Result<Json<DryRun>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let campaign = state.store.get_campaign(tenant, id).await?;
    if !request.dry_run {
        return Err(Problem::invalid_field(
            "dry_run",
            "only dry runs are started through the API; workers run the real cycles of RUNNING campaigns \
             (resume the campaign to have them run it)",
        ));
    }
    let app = state
        .app
        .tenant_app(tenant, false)
        .await
        .map_err(|e| Problem::internal_anyhow(&e))?;
    let clock: Box<dyn Clock> = match request.at {
        Some(at) => Box::new(FixedClock(at)),
        None => Box::new(SystemClock),
    };
    let done = crate::dry_run::dry_run(&state.store, &app, clock.as_ref(), &campaign)
        .await
        .map_err(|e| Problem::internal_anyhow(&e))?;
    tracing::info!(tenant = %tenant, actor = %caller.actor(), campaign = id, messages = done.messages.len(), "dry run");
    Ok(Json(done))
}
