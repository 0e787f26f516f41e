//! The REST API, `/api/v1`, served by `cam serve`: JSON in and out, a bearer
//! token on every request (`cam tokens create`), errors as RFC 9457 problem
//! documents, cursor pagination, a request-size limit and a deadline.
//!
//! Every route acts inside the caller's tenant: another tenant's ids answer
//! 404, exactly like ids that do not exist. Viewers read; operators act on
//! campaigns, leads, replies and suppressions; admins manage tokens; the
//! hosting operator's token manages tenants and reaches nothing inside
//! them. The routes are listed once, in
//! [`routes::ROUTES`]; `GET /api/v1/openapi.json` is generated from it.

mod auth;
mod body;
mod campaigns;
mod import;
mod lead_view;
mod leads;
mod metrics;
mod page;
mod params;
mod plugins;
pub mod problem;
mod records;
mod replies;
pub mod routes;
mod runs;
mod settings;
mod suppressions;
mod tenants;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use auth::{FAILURE_WINDOW, MAX_FAILURES};
use problem::Problem;

use crate::app::App;
use crate::store::Store;

/// The largest request body accepted (a CSV upload streams, up to
/// [`MAX_IMPORT_BYTES`]).
pub const MAX_BODY_BYTES: usize = 1 << 20;
pub use import::MAX_IMPORT_BYTES;
/// How long a request may take before it is answered 503.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// How long a CSV upload may take: 64 MiB over a slow office uplink.
pub const IMPORT_DEADLINE: Duration = Duration::from_secs(600);

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    store: Arc<dyn Store>,
    /// The application (configuration, server keys, plugin runtime).
    app: Arc<App>,
    limiter: Arc<auth::FailureLimiter>,
}

/// The `/api/v1` routes over `app`'s store, to nest into the server's router.
pub fn router(app: Arc<App>) -> Router {
    let state = ApiState {
        store: app.store().clone(),
        app,
        limiter: Arc::new(auth::FailureLimiter::default()),
    };
    let v1 = routes::router()
        .route("/openapi.json", get(|| async { axum::Json(routes::openapi()) }))
        .fallback(|| async { Problem::not_found("route").into_response() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(deadline))
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}

/// Answers 503 when a request takes longer than [`REQUEST_DEADLINE`].
/// ([`IMPORT_DEADLINE`] for a CSV upload).
async fn deadline(request: Request, next: Next) -> Response {
    let limit = if request.uri().path().ends_with("/import") {
        IMPORT_DEADLINE
    } else {
        REQUEST_DEADLINE
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request took longer than {} s; try again", limit.as_secs()),
        )
        .into_response(),
    }
}
