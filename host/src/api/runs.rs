//! `POST /api/v1/campaigns/{id}/run`: a cycle now. A dry run
//! ([`crate::dry_run`]) runs on a copy with dry-run mail and answers the
//! step report and the messages it would send, with nothing of the real
//! campaign changed. A real run takes the campaign's lease as a worker
//! would (a campaign a worker is running answers 409), runs the cycle and
//! answers its report; one still running when the answer is due goes on,
//! and its report is stored as every cycle's is.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::dry_run::DryRunMessage;
use crate::pipeline::{Clock, CycleReport, FixedClock, SystemClock};
use crate::worker::{DEFAULT_LEASE_TTL, Serving, Worker, WorkerOptions};

/// How long a real run's answer waits for the cycle (below the API's own
/// deadline); a cycle still running then goes on.
const ANSWER_WITHIN: Duration = Duration::from_secs(25);

/// The body of `POST /campaigns/{id}/run`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `true`: on a copy, with dry-run mail, changing nothing; `false`: the
    /// real cycle, as a worker would run it now.
    pub dry_run: bool,
    /// Run as if it were this instant (RFC 3339), e.g. to preview inside
    /// the send window; now by default. Dry runs only.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// What a run did.
#[derive(Debug, Serialize)]
pub struct RunAnswer {
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The cycle's report; `None` while a real cycle is still running.
    pub report: Option<CycleReport>,
    /// A dry run's messages, as they would go out (a real run's went out).
    pub messages: Vec<DryRunMessage>,
    /// Whether a real cycle is still running (its report will be stored).
    pub running: bool,
}

/// `POST /campaigns/{id}/run`.
pub async fn run(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(request): Body<RunRequest>,
) -> Result<(StatusCode, Json<RunAnswer>), Problem> {
    let tenant = caller.tenant(Role::Operator)?.to_string();
    let campaign = state.store.get_campaign(&tenant, id).await?;
    if !request.dry_run && request.at.is_some() {
        return Err(Problem::invalid_field(
            "at",
            "a real cycle runs now; `at` is for dry runs only",
        ));
    }
    let app = state
        .app
        .tenant_app(&tenant, false)
        .await
        .map_err(|e| Problem::internal_anyhow(&e))?;
    if request.dry_run {
        let clock: Box<dyn Clock> = match request.at {
            Some(at) => Box::new(FixedClock(at)),
            None => Box::new(SystemClock),
        };
        let done = crate::dry_run::dry_run(&state.store, &app, clock.as_ref(), &campaign)
            .await
            .map_err(|e| Problem::internal_anyhow(&e))?;
        tracing::info!(tenant = %tenant, actor = %caller.actor(), campaign = id, messages = done.messages.len(), "dry run");
        return Ok((
            StatusCode::OK,
            Json(RunAnswer {
                dry_run: true,
                report: Some(done.report),
                messages: done.messages,
                running: false,
            }),
        ));
    }
    let worker_id = caller.actor();
    if !state
        .store
        .try_acquire_lease(&tenant, id, &worker_id, DEFAULT_LEASE_TTL)
        .await?
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "a worker is running this campaign's cycle now; its report will be in GET /campaigns/{id}/reports",
        ));
    }
    tracing::info!(tenant = %tenant, actor = %worker_id, campaign = id, "cycle started through the API");
    let (done, answer) = tokio::sync::oneshot::channel();
    let owner = state.app.clone();
    // The cycle runs on its own task: an answer that is due never cuts a
    // cycle short (a send in progress must finish).
    tokio::spawn(async move {
        let mut options = WorkerOptions::new(DEFAULT_LEASE_TTL);
        options.worker_id = worker_id.clone();
        options.once = true;
        let worker = Worker {
            app: &owner,
            serving: Serving::One(&app),
            clock: &SystemClock,
            options,
        };
        let (_keep, shutdown) = tokio::sync::watch::channel(false);
        let result = worker.run_leased(&tenant, id, shutdown).await;
        if let Err(e) = owner.store().release_lease(&tenant, id, &worker_id).await {
            tracing::warn!(campaign = id, "cannot release the lease: {e}");
        }
        let _ = done.send(result);
    });
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(Ok(Ok(report))) => Ok((
            StatusCode::OK,
            Json(RunAnswer {
                dry_run: false,
                report: Some(report),
                messages: Vec::new(),
                running: false,
            }),
        )),
        Ok(Ok(Err(e))) => Err(Problem::internal_anyhow(&e)),
        Ok(Err(_)) => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the cycle stopped without a report; see the server's log",
        )),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(RunAnswer {
                dry_run: false,
                report: None,
                messages: Vec::new(),
                running: true,
            }),
        )),
    }
}
