//! Every route of the API in one list: the router is built from it and the
//! OpenAPI document (`GET /api/v1/openapi.json`) is generated from it, so
//! neither can have a route the other lacks. The isolation probe in the
//! tests walks the document.

use axum::Router;
use axum::routing::{delete, get, post, put};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Value, json};

use super::{
    ApiState, campaigns, import, lead_view, leads, metrics, plugins, records, replies, runs, settings, suppressions,
    tenants, tokens,
};
use crate::domain::model::{Role, Suppression};

/// Writes the JSON schema of one body type into the document's generator
/// (a `$ref` into `components/schemas` for named types).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One route: what the document says of it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `get`, `post`, `put` or `delete`.
    pub method: &'static str,
    /// The path under `/api/v1`, with `{name}` for each path parameter.
    pub path: &'static str,
    /// The least role that may call it.
    pub role: Role,
    /// What it does.
    pub summary: &'static str,
    /// What its body holds, if it takes one (a short description).
    pub body: Option<&'static str>,
    /// The body's media type (`application/json` unless said: `text/csv`
    /// for a CSV upload, `multipart/form-data` for a plugin's).
    pub media: &'static str,
    /// The JSON schema of the body, from the type the handler reads
    /// (`None`: a body described in words only).
    pub request: Option<SchemaFn>,
    /// The JSON schema of a successful answer, from the type the handler
    /// writes (`None`: no body, or one described in words only).
    pub response: Option<SchemaFn>,
}

/// Declares the routes once: the list and the router from it. Each entry:
/// `method "path" LeastRole handler, "summary"`, then optionally a body —
/// `, body "description" as RequestType` (JSON, with its schema),
/// `, body: "description"` (JSON described in words), `, csv "description"`
/// — and `, upload: "media/type" up to LIMIT` (a body limit of its own),
/// then optionally `=> ResponseType`.
macro_rules! routes {
    ($( $method:ident $path:literal $role:ident $handler:path, $summary:literal
        $(, body $body:literal as $request:ty)?
        $(, body: $described:literal)?
        $(, csv $csv:literal)?
        $(, upload: $media:literal up to $limit:expr)?
        $(=> $response:ty)? ;)*) => {
        /// Every route, in the order the document lists them.
        pub const ROUTES: &[Route] = &[
            $( Route {
                method: stringify!($method),
                path: $path,
                role: Role::$role,
                summary: $summary,
                body: routes!(@some $($body)? $($described)? $($csv)?),
                media: routes!(@media $(csv $csv)? $(upload $media)?),
                request: routes!(@schema $($request)?),
                response: routes!(@schema $($response)?),
            }, )*
        ];

        /// The routes, on a router that still needs its state.
        pub(super) fn router() -> Router<ApiState> {
            Router::new()
                $( .route($path, routes!(@limit $method($handler) $(, $limit)?)) )*
        }
    };
    (@some) => { None };
    (@some $text:literal) => { Some($text) };
    (@media) => { "application/json" };
    (@media csv $csv:literal) => { "text/csv" };
    (@media upload $media:literal) => { $media };
    (@schema) => { None };
    (@schema $type:ty) => { Some(schema_of::<$type> as SchemaFn) };
    (@limit $route:expr) => { $route };
    (@limit $route:expr, $limit:expr) => { $route.layer(axum::extract::DefaultBodyLimit::max($limit)) };
}

routes! {
    get "/campaigns" Viewer campaigns::list,
        "The tenant's campaigns, a page at a time (`limit`, `cursor`)."
        => super::page::Page<campaigns::CampaignView>;
    post "/campaigns" Operator campaigns::create,
        "Create a campaign from a definition (the fields of a campaign file); paused unless `start`.",
        body "{\"definition\": {…}, \"start\": false}" as campaigns::CreateCampaign
        => campaigns::CampaignView;
    get "/campaigns/{id}" Viewer campaigns::get,
        "One campaign: status, who set it and why, leads by state, its definition."
        => campaigns::CampaignView;
    put "/campaigns/{id}" Operator campaigns::update,
        "Replace a campaign's definition (checked as on create); its status stays.",
        body "{\"definition\": {…}}" as campaigns::UpdateCampaign
        => campaigns::CampaignView;
    post "/campaigns/{id}/pause" Operator campaigns::pause,
        "Pause a campaign, recording why and the token as who.",
        body "{\"reason\": \"…\"}" as campaigns::StatusChange
        => campaigns::CampaignView;
    post "/campaigns/{id}/resume" Operator campaigns::resume,
        "Resume a campaign, recording why and the token as who.",
        body "{\"reason\": \"…\"}" as campaigns::StatusChange
        => campaigns::CampaignView;
    post "/campaigns/{id}/run" Operator runs::run,
        "A cycle now. `dry_run: true`: on a copy with dry-run mail, answering the step report and every message it would send, nothing changed. `dry_run: false`: the real cycle under the campaign's lease (409 while a worker runs it; 202 if it is still running when the answer is due).",
        body "{\"dry_run\": true, \"at\": \"2026-03-02T10:00:00Z\" (optional, dry runs)}" as runs::RunRequest;
    get "/campaigns/{id}/reports" Viewer records::reports,
        "The campaign's newest cycle reports (`limit`, default 20, at most 100)."
        => Vec<crate::domain::model::CycleReportRecord>;
    post "/campaigns/{id}/import" Operator import::upload,
        "Import leads from the CSV body (`Content-Type: text/csv`, up to 64 MiB; query: `map`, `delimiter`, `dry_run`, `file`); answers the import report.",
        csv "the CSV file, a header row first"
        => import::ImportReport;
    get "/campaigns/{id}/metrics/daily" Viewer metrics::daily,
        "Per UTC day: sent, replies, positive, bounces, unsubscribes (`days`, default 30, at most 366)."
        => metrics::DailySeries;
    get "/leads" Viewer leads::list,
        "The tenant's leads, a page at a time; filters `state`, `min_score`, `max_score`, `campaign`, `q` (address or company, any case)."
        => super::page::Page<lead_view::LeadView>;
    get "/leads/{id}" Viewer leads::get,
        "One lead with its transitions (who, why, when), score, emails and replies."
        => lead_view::LeadView;
    post "/leads/{id}/qualify" Operator leads::qualify,
        "INTERESTED → QUALIFIED, recording why and the token; any other state answers 409 with the allowed moves.",
        body "{\"reason\": \"…\"}" as leads::LeadDecision
        => lead_view::LeadView;
    post "/leads/{id}/disqualify" Operator leads::disqualify,
        "Any state that is not final → LOST, recording why and the token.",
        body "{\"reason\": \"…\"}" as leads::LeadDecision
        => lead_view::LeadView;
    post "/leads/{id}/suppress" Operator leads::suppress,
        "Suppress the lead's address (manual, with why and the token) and stop its sequence.",
        body "{\"reason\": \"…\"}" as leads::LeadDecision
        => lead_view::LeadView;
    get "/replies" Viewer replies::list,
        "Replies matched to leads, with label, confidence and classifier version; filters `label`, `campaign`."
        => super::page::Page<replies::ReplyView>;
    get "/replies/unmatched" Viewer replies::unmatched,
        "Inbound messages matched to no lead (nor campaign), a page at a time."
        => super::page::Page<replies::ReplyView>;
    post "/replies/{id}/relabel" Operator replies::relabel,
        "Replace a reply's label, recording the previous one, why, who and when.",
        body "{\"label\": \"not-interested\", \"reason\": \"…\"}" as replies::Relabel
        => replies::ReplyView;
    get "/alerts" Viewer records::alerts,
        "The tenant's newest alerts with every delivery attempt (`limit`)."
        => Vec<records::AlertView>;
    get "/suppressions" Viewer suppressions::list,
        "Suppressed addresses and domains, newest first, a page at a time."
        => super::page::Page<Suppression>;
    post "/suppressions" Operator suppressions::add,
        "Suppress an address or a whole domain (recorded as manual, with the token).",
        body "{\"address\": \"x@example.com\"} or {\"domain\": \"example.com\"}, optional \"note\"" as suppressions::AddSuppression;
    delete "/suppressions/{value}" Operator suppressions::remove,
        "Take an address or domain off the list (recorded, with `?reason=`); never an unsubscribe or a complaint (409)."
        => Suppression;
    get "/settings" Admin settings::get,
        "The tenant's settings: mailboxes, inboxes, alert channels, sender identity (secrets as \"***\").";
    put "/settings" Admin settings::put,
        "Replace the tenant's settings; a secret left out or sent as \"***\" keeps its stored value.",
        body: "{\"sender\": {\"name\", \"address\"}, \"mail\": {\"smtp\": […], \"imap\": […], \"unsubscribe_url\"}, \"alerts\": {\"email\", \"webhook\": {\"url\", \"secret\"}}}";
    get "/plugins" Viewer plugins::list,
        "The active version of each of the tenant's plugins, its shadow candidate, whether a worker quarantined it, and each worker's last health report."
        => Vec<plugins::PluginView>;
    post "/plugins" Operator plugins::upload,
        "Upload a new version (validated under the tenant's ceilings, kept in the database, followed by every worker); `?shadow=true` makes it the shadow candidate instead of the active version.",
        body: "multipart form: `wasm` (the component) and `manifest` (its TOML)",
        upload: "multipart/form-data" up to plugins::MAX_UPLOAD_BYTES
        => plugins::VersionView;
    get "/plugins/{id}/versions" Viewer plugins::history,
        "Every version of one plugin (by name), newest first."
        => Vec<plugins::VersionView>;
    post "/plugins/{id}/rollback" Operator plugins::rollback,
        "Make an older version active again (by default the one before).",
        body "{\"to\": \"sha256 prefix\"} (optional)" as plugins::Rollback
        => plugins::VersionView;
    post "/plugins/{id}/shadow" Operator plugins::shadow,
        "Run a kept version as the shadow candidate beside the active one on every worker (outputs recorded, never applied), or stop.",
        body "{\"sha256\": \"prefix\"} or {\"sha256\": null}" as plugins::ShadowRequest
        => plugins::PluginView;
    get "/plugins/{id}/diff" Viewer plugins::diff,
        "How often the shadow candidate agreed with the active version, and every input where not."
        => crate::plugins::shadow::DiffReport;
    post "/plugins/{id}/promote" Operator plugins::promote,
        "Make the shadow candidate the active version on every worker."
        => plugins::PluginView;
    post "/plugins/{id}/release" Operator plugins::release,
        "Release the plugin from quarantine on every worker."
        => plugins::PluginView;
    get "/tokens" Admin tokens::list,
        "The tenant's API tokens (never their secrets)."
        => Vec<tokens::TokenView>;
    post "/tokens" Admin tokens::create,
        "Create a token; the answer holds it, once.",
        body "{\"role\": \"viewer|operator|admin\", \"name\": \"…\", \"expires_in_days\": 90}" as tokens::CreateToken
        => tokens::TokenView;
    delete "/tokens/{id}" Admin tokens::revoke,
        "Revoke one of the tenant's tokens.";
    get "/tenants" Host tenants::list,
        "Every tenant (hosting operator only)."
        => super::page::Page<tenants::TenantView>;
    post "/tenants" Host tenants::create,
        "Create a tenant (hosting operator only).",
        body "{\"id\": \"acme\", \"name\": \"Acme Ltd\"}" as tenants::CreateTenant
        => tenants::TenantView;
    post "/tenants/{id}/disable" Host tenants::disable,
        "Disable a tenant: its campaigns stop being claimed, its tokens are refused."
        => tenants::TenantView;
    post "/tenants/{id}/enable" Host tenants::enable,
        "Enable a disabled tenant."
        => tenants::TenantView;
    put "/tenants/{id}/ceilings" Host tenants::ceilings,
        "Set what a tenant's plugins may use at most (memory, timeout, kv bytes, concurrent calls).",
        body "{\"max_memory_mib\": 64, \"max_timeout_ms\": 1000, \"max_kv_bytes\": 1048576, \"max_concurrent_calls\": 4}" as crate::domain::model::TenantCeilings
        => tenants::TenantView;
}

/// The names of a path's parameters (`id` of `/leads/{id}`).
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// The OpenAPI 3.1 document of [`ROUTES`], with the JSON schema of every
/// body generated from the Rust types the handlers read and write.
pub fn openapi() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let success = match route.response {
            Some(schema) => json!({
                "description": "Success.",
                "content": { "application/json": { "schema": schema(&mut generator) } }
            }),
            None => json!({ "description": "Success (no body)." }),
        };
        let mut operation = json!({
            "summary": route.summary,
            "x-cam-role": route.role.as_str(),
            "security": [{ "bearer": [] }],
            "responses": {
                "2XX": success,
                "default": {
                    "description": "An RFC 9457 problem document.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                }
            }
        });
        let parameters: Vec<Value> = path_parameters(route.path)
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = route.body {
            let schema = match (route.request, route.media) {
                (Some(schema), _) => serde_json::to_value(schema(&mut generator)).unwrap_or_default(),
                (None, "text/csv") => json!({ "type": "string" }),
                // Described in words only (`body:`): see the description.
                (None, _) => json!({ "type": "object" }),
            };
            operation["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": { route.media: { "schema": schema } }
            });
        }
        let path = paths
            .entry(format!("/api/v1{}", route.path))
            .or_insert_with(|| json!({}));
        path[route.method] = operation;
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Problem".to_string(),
        json!({
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": { "type": "string" },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } }
            },
            "additionalProperties": true
        }),
    );
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
            "schemas": schemas
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

    /// Every `$ref` anywhere under `value`.
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_request_body_has_a_schema_and_every_reference_resolves() {
        let doc = openapi();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut in_words = Vec::new();
        for route in ROUTES.iter().filter(|r| r.body.is_some()) {
            let operation = &doc["paths"][format!("/api/v1{}", route.path)][route.method];
            let schema = &operation["requestBody"]["content"][route.media]["schema"];
            if schema.get("$ref").is_none() && schema["type"] != "string" {
                in_words.push((route.method, route.path));
            }
        }
        // Bodies described in words only: the settings file's type does not
        // derive `JsonSchema` (it lives in `config/`), and a plugin upload
        // is a multipart form.
        assert_eq!(in_words, [("put", "/settings"), ("post", "/plugins")]);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > ROUTES.len(), "{found:?}");
        for target in found {
            let name = target.strip_prefix("#/components/schemas/").expect("a component");
            assert!(schemas.contains_key(name), "{target} is not defined");
        }
        // Every answer has its schema but these (no body, or not derived yet).
        let bodiless: Vec<(&str, &str)> = ROUTES
            .iter()
            .filter(|r| r.response.is_none())
            .map(|r| (r.method, r.path))
            .collect();
        assert_eq!(
            bodiless,
            [
                ("post", "/campaigns/{id}/run"),
                ("post", "/suppressions"),
                ("get", "/settings"),
                ("put", "/settings"),
                ("delete", "/tokens/{id}"),
            ]
        );
        let lead = &doc["paths"]["/api/v1/leads/{id}"]["get"]["responses"]["2XX"]["content"]["application/json"];
        assert_eq!(lead["schema"]["$ref"], "#/components/schemas/LeadView");
        // A campaign definition is described field by field, with what is required.
        let definition = &schemas["CampaignDef"];
        assert!(definition["properties"]["daily_cap"].is_object(), "{definition}");
        assert_eq!(definition["required"], json!(["name", "steps"]), "{definition}");
        let decision = &schemas["LeadDecision"];
        assert_eq!(decision["required"], json!(["reason"]), "{decision}");
    }

    #[test]
    fn every_path_parameter_is_documented_by_its_own_name() {
        let doc = openapi();
        let delete = &doc["paths"]["/api/v1/suppressions/{value}"]["delete"];
        assert_eq!(delete["parameters"][0]["name"], "value");
        assert_eq!(delete["x-cam-role"], "operator");
        for route in ROUTES {
            let operation = &doc["paths"][format!("/api/v1{}", route.path)][route.method];
            let documented = operation["parameters"].as_array().map_or(0, Vec::len);
            assert_eq!(documented, route.path.matches('{').count(), "{}", route.path);
        }
    }
}
