//! `cam serve`: the web endpoint of one-click unsubscribe links.
//!
//! - `POST <prefix>/<token>` (what mail clients send for RFC 8058
//!   `List-Unsubscribe-Post: List-Unsubscribe=One-Click`) suppresses the
//!   address at once: no login, and repeating it changes nothing.
//! - `GET <prefix>/<token>` only shows a page with a button that POSTs:
//!   link scanners and previews fetch every URL in a message, and must not
//!   unsubscribe anyone.
//! - `GET /healthz` answers `ok` for load balancers.
//! - `/api/v1/…`: the REST API ([`crate::api`]), for tokens made with
//!   `cam tokens create`.
//!
//! Put it behind an HTTPS reverse proxy at the `unsubscribe_url` of
//! `cam.toml`; `<prefix>` is that URL's path (`/unsubscribe` by default).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use clap::Args;

use crate::config::Config;
use crate::domain::model::{SuppressionKind, SuppressionReason};
use crate::mail::unsubscribe::{TokenError, UnsubscribeLinks};
use crate::store::Store;

/// `cam serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CAM_LISTEN")]
    pub listen: SocketAddr,
}

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    store: Arc<dyn Store>,
    links: Arc<LinkKeys>,
}

/// Checks unsubscribe tokens with the key of the tenant each names: a
/// hosted tenant's own key from its sealed settings, the config tenant's
/// key file otherwise. One tenant's key never validates another's links.
pub struct LinkKeys {
    config_tenant: String,
    config_links: Option<Arc<UnsubscribeLinks>>,
    server_keys: Option<crate::tenancy::ServerKeys>,
    store: Arc<dyn Store>,
}

impl LinkKeys {
    /// Keys for `config`: its own tenant's `config_links`, and hosted
    /// tenants' through `store` when a server key file is configured.
    pub fn new(
        config: &Config,
        config_links: Option<Arc<UnsubscribeLinks>>,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<Self> {
        let server_keys = match config.server_key_file() {
            Some(_) => Some(crate::tenancy::server_keys(config)?),
            None => None,
        };
        Ok(Self {
            config_tenant: config.tenant.clone(),
            config_links,
            server_keys,
            store,
        })
    }

    /// Verifies `token` with its tenant's key.
    async fn verify(&self, token: &str) -> Result<crate::mail::unsubscribe::UnsubscribeRequest, TokenError> {
        let tenant = UnsubscribeLinks::claimed_tenant(token).ok_or(TokenError::Malformed)?;
        if let Some(keys) = &self.server_keys
            && let Ok(Some(stored)) = self.store.tenant_settings(&tenant).await
        {
            let opened = crate::tenancy::SealedSettings::open(keys, &tenant, &stored.sealed).map_err(|e| {
                tracing::error!(tenant = %tenant, "cannot open the tenant's settings to check a link: {e:#}");
                TokenError::BadSignature
            })?;
            return UnsubscribeLinks::new(opened.unsubscribe_key, None).verify(token);
        }
        match &self.config_links {
            Some(links) if tenant == self.config_tenant => links.verify(token),
            _ => Err(TokenError::BadSignature),
        }
    }
}

/// The path prefix of the unsubscribe links (`/unsubscribe`, or the path
/// of a configured `unsubscribe_url`).
pub fn path_prefix(unsubscribe_url: Option<&str>) -> anyhow::Result<String> {
    let Some(url) = unsubscribe_url else {
        return Ok("/unsubscribe".to_string());
    };
    let parsed = url::Url::parse(url).with_context(|| format!("unsubscribe_url {url:?} is not a URL"))?;
    let path = parsed.path().trim_end_matches('/').to_string();
    if path.is_empty() {
        anyhow::bail!("unsubscribe_url {url:?} needs a path, such as https://go.example.com/unsubscribe");
    }
    Ok(path)
}

/// The router: unsubscribe pages under `prefix`, `/healthz`, and the REST
/// API under `/api/v1`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`, so failed API
/// authentications are limited per client address.
pub fn router(app: Arc<crate::app::App>, links: Arc<LinkKeys>, prefix: &str) -> Router {
    Router::new()
        .route(&format!("{prefix}/{{token}}"), get(confirm_page).post(unsubscribe))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(AppState {
            store: app.store().clone(),
            links,
        })
        .merge(crate::api::router(app))
}

/// Runs `cam serve` until Ctrl-C.
pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let app = Arc::new(crate::app::App::open(config.clone()).await?);
    let store = app.store().clone();
    let links = Arc::new(LinkKeys::new(
        config,
        Some(Arc::new(UnsubscribeLinks::for_config(config)?)),
        store.clone(),
    )?);
    let prefix = path_prefix(config.mail.unsubscribe_url.as_deref())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    println!("serving one-click unsubscribe on http://{local}{prefix}/<token>");
    println!("serving the REST API on http://{local}/api/v1 (tokens: cam tokens create); Ctrl-C stops");
    axum::serve(
        listener,
        router(app, links, &prefix).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the web server failed")?;
    Ok(ExitCode::SUCCESS)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\"><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn invalid(e: TokenError) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Invalid link",
        &format!(
            "<p>{}. Reply to the email with “unsubscribe” instead.</p>",
            escape(&e.to_string())
        ),
    )
}

/// GET: confirm first; never unsubscribes.
async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.links.verify(&token).await {
        Ok(request) => page(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop all further emails to <b>{}</b>?</p>\
                 <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
                 <button type=\"submit\">Unsubscribe</button></form>",
                escape(&request.address)
            ),
        ),
        Err(e) => invalid(e),
    }
}

/// POST: the one-click unsubscribe itself (idempotent).
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let request = match state.links.verify(&token).await {
        Ok(request) => request,
        Err(e) => return invalid(e),
    };
    let suppressed = state
        .store
        .add_suppression(
            &request.tenant,
            SuppressionKind::Address,
            &request.address,
            SuppressionReason::Unsubscribe,
            "one-click unsubscribe (List-Unsubscribe-Post)",
        )
        .await;
    match suppressed {
        Ok(()) => {
            tracing::info!(tenant = %request.tenant, "one-click unsubscribe");
            page(
                StatusCode::OK,
                "Unsubscribed",
                &format!("<p>{} will get no more emails from us.</p>", escape(&request.address)),
            )
        }
        Err(e) => {
            tracing::error!(tenant = %request.tenant, error = %e, "cannot record an unsubscribe");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>We could not record your request just now. Please try again in a minute.</p>",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_prefix_comes_from_the_configured_url() {
        assert_eq!(path_prefix(None).expect("default"), "/unsubscribe");
        assert_eq!(path_prefix(Some("https://go.example.com/u/")).expect("custom"), "/u");
        assert!(path_prefix(Some("https://go.example.com")).is_err());
    }
}
