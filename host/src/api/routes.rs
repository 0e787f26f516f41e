//! Every route of the API in one list: the router is built from it and the
//! OpenAPI document (`GET /api/v1/openapi.json`) is generated from it, so
//! neither can have a route the other lacks. The isolation probe in the
//! tests walks the document.

use axum::Router;
use axum::routing::{delete, get, post, put};
use serde_json::{Value, json};

use super::{ApiState, campaigns, plugins, records, runs, settings, suppressions, tenants, tokens};
use crate::domain::model::Role;

/// One route: what the document says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `get`, `post`, `put` or `delete`.
    pub method: &'static str,
    /// The path under `/api/v1`, with `{id}` for a path parameter.
    pub path: &'static str,
    /// The least role that may call it.
    pub role: Role,
    /// What it does.
    pub summary: &'static str,
    /// What its body holds, if it takes one (a short description).
    pub body: Option<&'static str>,
    /// The body's media type (`application/json` unless said).
    pub media: &'static str,
}

/// Declares the routes once: the list and the router from it.
macro_rules! routes {
    ($( $method:ident $path:literal $role:ident $handler:path, $summary:literal
        $(, body: $body:literal)? $(, upload: $media:literal up to $limit:expr)? ;)*) => {
        /// Every route, in the order the document lists them.
        pub const ROUTES: &[Route] = &[
            $( Route {
                method: stringify!($method),
                path: $path,
                role: Role::$role,
                summary: $summary,
                body: routes!(@body $($body)?),
                media: routes!(@media $($media)?),
            }, )*
        ];

        /// The routes, on a router that still needs its state.
        pub(super) fn router() -> Router<ApiState> {
            Router::new()
                $( .route($path, routes!(@limit $method($handler) $(, $limit)?)) )*
        }
    };
    (@body) => { None };
    (@body $body:literal) => { Some($body) };
    (@media) => { "application/json" };
    (@media $media:literal) => { $media };
    (@limit $route:expr) => { $route };
    (@limit $route:expr, $limit:expr) => { $route.layer(axum::extract::DefaultBodyLimit::max($limit)) };
}

routes! {
    get "/campaigns" Viewer campaigns::list,
        "The tenant's campaigns, a page at a time (`limit`, `cursor`).";
    post "/campaigns" Operator campaigns::create,
        "Create a campaign from a definition (the fields of a campaign file); paused unless `start`.",
        body: "{\"definition\": {…}, \"start\": false}";
    get "/campaigns/{id}" Viewer campaigns::get,
        "One campaign: status, who set it and why, leads by state, its definition.";
    post "/campaigns/{id}/pause" Operator campaigns::pause,
        "Pause a campaign, recording why and the token as who.",
        body: "{\"reason\": \"…\"}";
    post "/campaigns/{id}/resume" Operator campaigns::resume,
        "Resume a campaign, recording why and the token as who.",
        body: "{\"reason\": \"…\"}";
    post "/campaigns/{id}/run" Operator runs::run,
        "A dry run of the campaign's next cycle on a copy: its step report and every message it would send; nothing changes.",
        body: "{\"dry_run\": true, \"at\": \"2026-03-02T10:00:00Z\" (optional)}";
    get "/campaigns/{id}/reports" Viewer records::reports,
        "The campaign's newest cycle reports (`limit`, default 20, at most 100).";
    get "/alerts" Viewer records::alerts,
        "The tenant's newest alerts with every delivery attempt (`limit`).";
    get "/suppressions" Viewer suppressions::list,
        "Suppressed addresses and domains, newest first, a page at a time.";
    post "/suppressions" Operator suppressions::add,
        "Suppress an address or a whole domain (recorded as manual, with the token).",
        body: "{\"address\": \"x@example.com\"} or {\"domain\": \"example.com\"}, optional \"note\"";
    get "/settings" Admin settings::get,
        "The tenant's settings: mailboxes, inboxes, alert channels, sender identity (secrets as \"***\").";
    put "/settings" Admin settings::put,
        "Replace the tenant's settings; a secret left out or sent as \"***\" keeps its stored value.",
        body: "{\"sender\": {\"name\", \"address\"}, \"mail\": {\"smtp\": […], \"imap\": […], \"unsubscribe_url\"}, \"alerts\": {\"email\", \"webhook\": {\"url\", \"secret\"}}}";
    get "/plugins" Viewer plugins::list,
        "The active version of each of the tenant's plugins.";
    post "/plugins" Operator plugins::upload,
        "Upload a new version (validated under the tenant's ceilings, kept in the database, followed by every worker); `?shadow=true` makes it the shadow candidate instead of the active version.",
        body: "multipart form: `wasm` (the component) and `manifest` (its TOML)",
        upload: "multipart/form-data" up to plugins::MAX_UPLOAD_BYTES;
    get "/plugins/{id}/versions" Viewer plugins::history,
        "Every version of one plugin (by name), newest first.";
    post "/plugins/{id}/rollback" Operator plugins::rollback,
        "Make an older version active again (by default the one before).",
        body: "{\"to\": \"sha256 prefix\"} (optional)";
    post "/plugins/{id}/shadow" Operator plugins::shadow,
        "Run a kept version as the shadow candidate beside the active one on every worker (outputs recorded, never applied), or stop.",
        body: "{\"sha256\": \"prefix\"} or {\"sha256\": null}";
    get "/plugins/{id}/diff" Viewer plugins::diff,
        "How often the shadow candidate agreed with the active version, and every input where not.";
    post "/plugins/{id}/promote" Operator plugins::promote,
        "Make the shadow candidate the active version on every worker.";
    post "/plugins/{id}/release" Operator plugins::release,
        "Release the plugin from quarantine on every worker.";
    get "/tokens" Admin tokens::list,
        "The tenant's API tokens (never their secrets).";
    post "/tokens" Admin tokens::create,
        "Create a token; the answer holds it, once.",
        body: "{\"role\": \"viewer|operator|admin\", \"name\": \"…\", \"expires_in_days\": 90}";
    delete "/tokens/{id}" Admin tokens::revoke,
        "Revoke one of the tenant's tokens.";
    get "/tenants" Host tenants::list,
        "Every tenant (hosting operator only).";
    post "/tenants" Host tenants::create,
        "Create a tenant (hosting operator only).",
        body: "{\"id\": \"acme\", \"name\": \"Acme Ltd\"}";
    post "/tenants/{id}/disable" Host tenants::disable,
        "Disable a tenant: its campaigns stop being claimed, its tokens are refused.";
    post "/tenants/{id}/enable" Host tenants::enable,
        "Enable a disabled tenant.";
    put "/tenants/{id}/ceilings" Host tenants::ceilings,
        "Set what a tenant's plugins may use at most (memory, timeout, kv bytes, concurrent calls).",
        body: "{\"max_memory_mib\": 64, \"max_timeout_ms\": 1000, \"max_kv_bytes\": 1048576, \"max_concurrent_calls\": 4}";
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let mut operation = json!({
            "summary": route.summary,
            "x-cam-role": route.role.as_str(),
            "security": [{ "bearer": [] }],
            "responses": {
                "2XX": { "description": "Success (JSON)." },
                "default": {
                    "description": "An RFC 9457 problem document.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                }
            }
        });
        if route.path.contains("{id}") {
            operation["parameters"] =
                json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
        }
        if let Some(body) = route.body {
            operation["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": { route.media: { "schema": { "type": "object" } } }
            });
        }
        let path = paths
            .entry(format!("/api/v1{}", route.path))
            .or_insert_with(|| json!({}));
        path[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cam",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every route acts inside the token's tenant; another tenant's ids answer 404. Roles: viewer < operator < admin; host manages tenants only."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `cam tokens create`." } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" },
                        "errors": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_once() {
        let doc = openapi();
        let listed: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|methods| methods.as_object().map_or(0, serde_json::Map::len))
            .sum();
        assert_eq!(listed, ROUTES.len());
        assert_eq!(
            doc["paths"]["/api/v1/campaigns/{id}/pause"]["post"]["x-cam-role"],
            "operator"
        );
    }
}
