//! Read-only records: a campaign's cycle reports and the tenant's alerts
//! with every delivery attempt.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;
use crate::domain::model::{Alert, AlertAttempt, CycleReportRecord, Role};

/// The most records one request returns.
pub const MAX_RECORDS: u32 = 100;

/// `?limit=` of a record list (newest first).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Newest {
    /// How many (1..=100, default 20).
    pub limit: Option<u32>,
}

impl Newest {
    fn limit(&self) -> Result<u32, Problem> {
        let limit = self.limit.unwrap_or(20);
        if (1..=MAX_RECORDS).contains(&limit) {
            Ok(limit)
        } else {
            Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_RECORDS}"),
            ))
        }
    }
}

/// An alert with its delivery attempts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AlertView {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// Every try at delivering it, per channel.
    pub attempts: Vec<AlertAttempt>,
}

/// `GET /campaigns/{id}/reports`: the campaign's newest cycle reports.
pub async fn reports(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<Newest>,
) -> Result<Json<Vec<CycleReportRecord>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let limit = query.limit()?;
    state.store.get_campaign(tenant, id).await?;
    Ok(Json(state.store.recent_cycle_reports(tenant, Some(id), limit).await?))
}

/// `GET /alerts`: the tenant's newest alerts and how each was delivered.
pub async fn alerts(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<Newest>,
) -> Result<Json<Vec<AlertView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let limit = query.limit()?;
    let mut views = Vec::new();
    for alert in state.store.list_alerts(tenant, limit).await? {
        let attempts = state.store.alert_attempts(tenant, alert.id).await?;
        views.push(AlertView { alert, attempts });
    }
    Ok(Json(views))
}
