//! The REST API as a hosted deployment uses it: tenants and tokens made
//! with the CLI, `cam serve` started as a user starts it, requests over
//! real HTTP. Checks tenant isolation (another tenant's ids are 404, like
//! ids that do not exist), roles, problem documents, pagination and the
//! failed-authentication limit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::cam_ok;

/// A `cam init` site with tenants `acme` and `beta` and `cam serve` running.
pub(crate) struct Site {
    _dir: tempfile::TempDir,
    pub(crate) root: std::path::PathBuf,
    server: Child,
    pub(crate) base: String,
    http: reqwest::Client,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Site {
    pub(crate) fn start() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        cam_ok(&root, &["init"]);
        // Hosted: tenants' settings are sealed with this key.
        let config = std::fs::read_to_string(root.join("cam.toml")).expect("config");
        std::fs::write(
            root.join("cam.toml"),
            format!("{config}\n[hosted]\nserver_key_file = \"server.keys\"\n"),
        )
        .expect("config");
        cam_ok(&root, &["tenants", "keys", "new"]);
        cam_ok(&root, &["tenants", "create", "acme", "--name", "Acme Ltd"]);
        cam_ok(&root, &["tenants", "create", "beta"]);
        let mut server = Command::new(env!("CARGO_BIN_EXE_cam"))
            .arg("--config")
            .arg(root.join("cam.toml"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("CAM_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cam serve starts");
        // The first lines say where it listens; reading them is the readiness check.
        let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("cam serve printed where it listens")
                .expect("a line");
            if let Some(rest) = line.strip_prefix("serving the REST API on ") {
                let api = rest.split_whitespace().next().expect("a URL");
                break api.strip_suffix("/api/v1").expect("the API's root").to_string();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Site {
            _dir: dir,
            root,
            server,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn token(&self, tenant: Option<&str>, role: &str) -> String {
        let mut args = vec!["tokens", "create", "--role", role, "--name", "test"];
        if let Some(tenant) = tenant {
            args.extend(["--tenant", tenant]);
        }
        cam_ok(&self.root, &args).trim().to_string()
    }

    /// `POST path` with `token` and a JSON `body`.
    /// Uploads `wasm` with `manifest` to `POST /api/v1/plugins`.
    pub(crate) async fn upload(&self, token: &str, wasm: Vec<u8>, manifest: String) -> (StatusCode, Value) {
        self.upload_as("kv_counter.wasm", token, wasm, manifest).await
    }

    /// Uploads `wasm` as the file `file_name` with `manifest`.
    pub(crate) async fn upload_as(
        &self,
        file_name: &str,
        token: &str,
        wasm: Vec<u8>,
        manifest: String,
    ) -> (StatusCode, Value) {
        self.upload_to("", file_name, token, wasm, manifest).await
    }

    /// Uploads `wasm` as `file_name` to `POST /api/v1/plugins{query}`.
    pub(crate) async fn upload_to(
        &self,
        query: &str,
        file_name: &str,
        token: &str,
        wasm: Vec<u8>,
        manifest: String,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .part(
                "wasm",
                reqwest::multipart::Part::bytes(wasm).file_name(file_name.to_string()),
            )
            .text("manifest", manifest);
        let response = self
            .http
            .post(format!("{}/api/v1/plugins{query}", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// One probe request: the plugin upload as a real upload, every other
    /// route with `body`.
    async fn probe(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        if method == "POST" && path == "/api/v1/plugins" {
            let (wasm, manifest) = kv_counter();
            return self.upload(token, wasm, manifest).await;
        }
        self.call(method, path, Some(token), body).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.parse().expect("method"), &url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.answer(method, path, request).await
    }

    /// `GET path` with `token`.
    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    /// `POST path` with `token` and a raw `body` of `content_type` (a CSV upload).
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        self.answer("POST", path, request).await
    }

    /// The site's own database, to set up what only a running pipeline
    /// makes (sent emails, replies, scores).
    pub(crate) async fn store(&self) -> std::sync::Arc<dyn cam::store::Store> {
        cam::store::open(&format!("sqlite://{}", self.root.join("cam.db").display()))
            .await
            .expect("the site's database opens")
    }

    async fn answer(&self, method: &str, path: &str, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let is_problem = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        let text = response.text().await.expect("a body");
        if status.is_client_error() || status.is_server_error() {
            assert!(
                is_problem,
                "{method} {path}: an error is a problem document: {status} {text}"
            );
        }
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
        };
        (status, value)
    }
}

/// The kv-counter example plugin's component and manifest.
pub(crate) fn kv_counter() -> (Vec<u8>, String) {
    let wasm = std::fs::read(crate::support::wasm_path(crate::support::plugin::KV_COUNTER)).expect("built");
    let manifest =
        std::fs::read_to_string(crate::support::manifest_source(crate::support::plugin::KV_COUNTER)).expect("manifest");
    (wasm, manifest)
}

pub(crate) fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "mailboxes": [{ "address": "sales@acme.example", "daily_cap": 20 }],
        "steps": [{ "subject": "Hello {{first_name}}", "body": "Hi {{first_name}}", "delay_days": 0 }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_sees_and_changes_only_its_own_campaigns() {
    let site = Site::start();
    let acme_admin = site.token(Some("acme"), "admin");
    let acme_viewer = site.token(Some("acme"), "viewer");
    let beta_operator = site.token(Some("beta"), "operator");

    let (status, created) = site
        .post(
            "/api/v1/campaigns",
            &acme_admin,
            json!({ "definition": definition("spring") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "PAUSED");
    assert_eq!(created["definition"]["name"], "spring");
    let id = created["id"].as_i64().expect("an id");
    for name in ["summer", "autumn"] {
        let (status, _) = site
            .post(
                "/api/v1/campaigns",
                &acme_admin,
                json!({ "definition": definition(name), "start": true }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }

    // Another tenant: the same answer as for an id that does not exist.
    let (status, missing) = site
        .call("GET", "/api/v1/campaigns/999999", Some(&beta_operator), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, foreign) = site
        .call("GET", &format!("/api/v1/campaigns/{id}"), Some(&beta_operator), None)
        .await;
    assert_eq!(
        (status, &foreign),
        (StatusCode::NOT_FOUND, &missing),
        "no existence leak"
    );
    let (status, _) = site
        .post(
            &format!("/api/v1/campaigns/{id}/resume"),
            &beta_operator,
            json!({ "reason": "mine now" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, beta_list) = site.call("GET", "/api/v1/campaigns", Some(&beta_operator), None).await;
    assert_eq!(beta_list["items"], json!([]), "beta lists none of acme's campaigns");

    // The owner sees it, pages through its list, and acts by role.
    let (status, got) = site
        .call("GET", &format!("/api/v1/campaigns/{id}"), Some(&acme_viewer), None)
        .await;
    assert_eq!((status, got["name"].as_str()), (StatusCode::OK, Some("spring")));
    let (_, first) = site
        .call("GET", "/api/v1/campaigns?limit=2", Some(&acme_viewer), None)
        .await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
    let (_, second) = site
        .call(
            "GET",
            &format!("/api/v1/campaigns?limit=2&cursor={cursor}"),
            Some(&acme_viewer),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next_cursor"], Value::Null);

    let (status, refused) = site
        .post(
            &format!("/api/v1/campaigns/{id}/resume"),
            &acme_viewer,
            json!({ "reason": "go" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap_or("").contains("operator"),
        "{refused}"
    );
    let (status, resumed) = site
        .post(
            &format!("/api/v1/campaigns/{id}/resume"),
            &acme_admin,
            json!({ "reason": "launch day" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "RUNNING");
    assert_eq!(resumed["status_reason"], "launch day");
    assert!(
        resumed["status_actor"].as_str().unwrap_or("").starts_with("api:"),
        "{resumed}"
    );
    let shown = cam_ok(&site.root, &["tenants", "show", "acme", "--json"]);
    assert!(shown.contains("\"campaigns\": 3"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problem_documents_that_say_what_to_fix() {
    let site = Site::start();
    let admin = site.token(Some("acme"), "admin");
    let mut bad = definition("broken");
    bad["daily_cap"] = json!(0);
    bad["steps"][0]["subject"] = json!("Hi {{first_name");
    let (status, problem) = site
        .post("/api/v1/campaigns", &admin, json!({ "definition": bad }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("the fields at fault")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"daily_cap") && fields.contains(&"steps[0].subject"),
        "{problem}"
    );

    let (status, problem) = site
        .post(
            "/api/v1/campaigns",
            &admin,
            json!({ "definition": definition("x"), "strat": true }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["detail"].as_str().unwrap_or("").contains("strat"), "{problem}");

    let (status, problem) = site
        .post(
            "/api/v1/campaigns",
            &admin,
            json!({ "definition": definition("twice") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, _) = site
        .post(
            "/api/v1/campaigns",
            &admin,
            json!({ "definition": definition("twice") }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Just over the limit, so the whole request is written before the answer.
    let huge = json!({ "definition": definition(&"x".repeat(cam::api::MAX_BODY_BYTES + 1024)) });
    let (status, _) = site.call("POST", "/api/v1/campaigns", Some(&admin), Some(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = site
        .call("GET", "/api/v1/campaigns?limit=100000", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = site.call("GET", "/api/v1/no-such-route", Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stop_working_when_revoked_or_their_tenant_is_disabled() {
    let site = Site::start();
    let admin = site.token(Some("acme"), "admin");
    let (status, _) = site.call("GET", "/api/v1/campaigns", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some("cam_nothing"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An admin makes and revokes a token through the API.
    let (status, made) = site
        .post(
            "/api/v1/tokens",
            &admin,
            json!({ "role": "viewer", "name": "dashboard" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let viewer = made["token"].as_str().expect("shown once").to_string();
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = site.call("GET", "/api/v1/tokens", Some(&admin), None).await;
    assert!(
        listed.to_string().contains("dashboard") && !listed.to_string().contains(&viewer[17..]),
        "{listed}"
    );
    let (status, _) = site.call("GET", "/api/v1/tokens", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not manage tokens");
    let id = made["id"].as_str().expect("id");
    let beta_admin = site.token(Some("beta"), "admin");
    let (status, _) = site
        .call("DELETE", &format!("/api/v1/tokens/{id}"), Some(&beta_admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's token");
    let (status, _) = site
        .call("DELETE", &format!("/api/v1/tokens/{id}"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");

    // The hosting operator manages tenants and reaches nothing inside them.
    let host = site.token(None, "host");
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&host), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site.call("GET", "/api/v1/tenants", Some(&admin), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = site.post("/api/v1/tenants", &host, json!({ "id": "../evil" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{created}");
    let (status, _) = site
        .post("/api/v1/tenants", &host, json!({ "id": "gamma", "name": "Gamma" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, disabled) = site
        .call("POST", "/api/v1/tenants/acme/disable", Some(&host), None)
        .await;
    assert_eq!(
        (status, disabled["status"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&admin), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled tenant's token");
    site.call("POST", "/api/v1/tenants/acme/enable", Some(&host), None)
        .await;
    let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_authentications_are_refused_for_a_while() {
    let site = Site::start();
    let admin = site.token(Some("acme"), "admin");
    let forged = format!("cam_{}_{}", "0".repeat(12), "0".repeat(64));
    for _ in 0..cam::api::MAX_FAILURES {
        let (status, _) = site.call("GET", "/api/v1/campaigns", Some(&forged), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let url = format!("{}/api/v1/campaigns", site.base);
    let response = site.http.get(&url).bearer_auth(&admin).send().await.expect("answers");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even a good token, from that address"
    );
    assert!(response.headers().contains_key("retry-after"));
}

/// `(method, path)` of every route the OpenAPI document lists, with its role.
async fn documented_routes(site: &Site) -> Vec<(String, String, String)> {
    let (status, doc) = site.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut routes = Vec::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("methods") {
            let role = operation["x-cam-role"].as_str().expect("a role").to_string();
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                let schema = content.values().next().map(|media| &media["schema"]);
                assert!(
                    schema.is_some_and(Value::is_object),
                    "{method} {path}: the body has a schema: {operation}"
                );
            }
            routes.push((method.to_uppercase(), path.clone(), role));
        }
    }
    assert!(routes.len() >= 12, "{routes:?}");
    routes
}

/// A body the route accepts.
fn probe_body(method: &str, path: &str) -> Option<Value> {
    if method != "POST" && method != "PUT" {
        return None;
    }
    Some(match path {
        "/api/v1/campaigns" => json!({ "definition": definition("probe") }),
        "/api/v1/campaigns/{id}" => json!({ "definition": definition("probe") }),
        "/api/v1/replies/{id}/relabel" => json!({ "label": "unknown", "reason": "probe" }),
        p if p.starts_with("/api/v1/leads/") => json!({ "reason": "probe" }),
        "/api/v1/tokens" => json!({ "role": "viewer", "name": "probe" }),
        "/api/v1/tenants" => json!({ "id": "probe" }),
        "/api/v1/suppressions" => json!({ "address": "probe@beta.example" }),
        "/api/v1/settings" => json!({ "alerts": { "email": "probe@beta.example" } }),
        p if p.ends_with("/pause") || p.ends_with("/resume") => json!({ "reason": "probe" }),
        p if p.ends_with("/run") => json!({ "dry_run": true }),
        p if p.ends_with("/shadow") => json!({ "sha256": null }),
        _ => json!({}),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_keeps_one_tenant_out_of_another_and_refuses_lesser_roles() {
    let site = Site::start();
    let acme = site.token(Some("acme"), "admin");
    let (_, secret) = site
        .post(
            "/api/v1/campaigns",
            &acme,
            json!({ "definition": definition("acme-secret-plan") }),
        )
        .await;
    let acme_campaign = secret["id"].as_i64().expect("id").to_string();
    let (_, acme_token) = site
        .post(
            "/api/v1/tokens",
            &acme,
            json!({ "role": "viewer", "name": "acme-secret-token" }),
        )
        .await;
    let acme_token_id = acme_token["id"].as_str().expect("id").to_string();
    let (status, settings) = site
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&acme),
            Some(json!({
                "sender": { "name": "Acme", "address": "acme-secret-sender@acme.example" },
                "alerts": { "webhook": { "url": "https://hooks.acme.example/x", "secret": "acme-secret-hook" } }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["settings"]["alerts"]["webhook"]["secret"], "***", "{settings}");
    let (wasm, manifest) = kv_counter();
    let (status, uploaded) = site
        .upload_as(
            "acme_secret_scorer.wasm",
            &acme,
            crate::retag::retagged(&wasm, "acme-secret"),
            manifest,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let acme_sha = uploaded["sha256"].as_str().expect("sha256").to_string();
    let (status, _) = site
        .post(
            "/api/v1/suppressions",
            &acme,
            json!({ "address": "acme-secret@acme.example", "note": "asked" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, bad) = site
        .post("/api/v1/suppressions", &acme, json!({ "address": "not an address" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (_, listed) = site.call("GET", "/api/v1/suppressions", Some(&acme), None).await;
    assert_eq!(listed["items"][0]["value"], "acme-secret@acme.example", "{listed}");
    // A lead, a reply to it and a message matched to nothing, all acme's.
    let (status, report) = site
        .post_raw(
            &format!("/api/v1/campaigns/{acme_campaign}/import"),
            &acme,
            "text/csv",
            b"email,company\nacme-secret-lead@acme.example,Acme Secret Co\n".to_vec(),
        )
        .await;
    assert_eq!(
        (status, report["imported"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    let store = site.store().await;
    let acme_lead = store
        .lead_by_email("acme", "acme-secret-lead@acme.example")
        .await
        .expect("read")
        .expect("the lead")
        .id;
    let acme_reply = crate::api_leads::inbound(
        &store,
        "acme",
        "acme-secret-lead@acme.example",
        Some(acme_lead),
        Some("interested"),
    )
    .await;
    crate::api_leads::inbound(&store, "acme", "acme-secret-stray@acme.example", None, None).await;
    let beta: Vec<(&str, String)> = ["viewer", "operator", "admin"]
        .into_iter()
        .map(|role| (role, site.token(Some("beta"), role)))
        .collect();
    let beta_admin = &beta[2].1;
    let host = site.token(None, "host");
    let rank = |role: &str| ["viewer", "operator", "admin"].iter().position(|r| *r == role);

    for (method, path, role) in documented_routes(&site).await {
        let acme_path = path
            .replace("/campaigns/{id}", &format!("/campaigns/{acme_campaign}"))
            .replace("/tokens/{id}", &format!("/tokens/{acme_token_id}"))
            .replace("/leads/{id}", &format!("/leads/{acme_lead}"))
            .replace("/replies/{id}", &format!("/replies/{acme_reply}"))
            .replace("/suppressions/{value}", "/suppressions/acme-secret@acme.example")
            .replace("/tenants/{id}", "/tenants/acme")
            .replace("/plugins/{id}", "/plugins/acme_secret_scorer");
        assert!(!acme_path.contains('{'), "the probe knows no id of acme's for {path}");
        let body = probe_body(&method, &path);
        if role == "host" {
            for (beta_role, token) in &beta {
                let (status, _) = site.probe(&method, &acme_path, token, body.clone()).await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with beta's {beta_role} token"
                );
            }
            continue;
        }
        // The hosting operator reaches nothing inside a tenant.
        let (status, _) = site.probe(&method, &acme_path, &host, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} with the host token");
        // A role below the route's is refused (on beta's own data, so 403 is not a 404 in disguise).
        for (beta_role, token) in &beta {
            if rank(beta_role) < rank(&role) {
                let own_path = path
                    .replace("{id}", "0")
                    .replace("{value}", "0")
                    .replace("/tenants/0", "/tenants/beta");
                let (status, _) = site.probe(&method, &own_path, token, body.clone()).await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with beta's {beta_role} token"
                );
            }
        }
        // Beta's admin on acme's ids: exactly "not found"; on lists: none of acme's rows.
        let (status, answer) = site.probe(&method, &acme_path, beta_admin, body.clone()).await;
        if path.contains('{') {
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {acme_path}: {answer}");
        } else {
            assert!(status.is_success(), "{method} {path}: {status} {answer}");
            let text = answer.to_string();
            assert!(
                !text.contains("acme-secret") && !text.contains(&acme_token_id) && !text.contains(&acme_sha),
                "{method} {path} shows acme's rows to beta: {text}"
            );
        }
    }
    // Nothing of acme's changed.
    let (_, after) = site
        .call("GET", &format!("/api/v1/campaigns/{acme_campaign}"), Some(&acme), None)
        .await;
    assert_eq!(
        (
            after["status"].as_str(),
            after["status_actor"].as_str().map(|a| a.starts_with("api:"))
        ),
        (Some("PAUSED"), Some(true))
    );
    assert_eq!(after["status_reason"], "created; not started yet");
    assert_eq!(after["name"], "acme-secret-plan");
    let (_, lead) = site
        .call("GET", &format!("/api/v1/leads/{acme_lead}"), Some(&acme), None)
        .await;
    assert_eq!(
        (&lead["state"], &lead["suppressed"], &lead["replies"][0]["label"]),
        (&json!("NEW"), &json!(false), &json!("interested")),
        "{lead}"
    );
    let (_, listed) = site.call("GET", "/api/v1/suppressions", Some(&acme), None).await;
    assert_eq!(listed["items"][0]["value"], "acme-secret@acme.example", "{listed}");
    let (status, _) = site
        .call(
            "GET",
            "/api/v1/campaigns",
            Some(acme_token["token"].as_str().expect("token")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "acme's token was not revoked by beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_keeps_sealed_settings_and_the_host_sets_ceilings() {
    let site = Site::start();
    let admin = site.token(Some("acme"), "admin");
    let (status, empty) = site.call("GET", "/api/v1/settings", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["revision"], 1, "`tenants create` sealed empty settings: {empty}");
    let wanted = json!({
        "sender": { "name": "Anna", "address": "anna@acme.example" },
        "alerts": {
            "email": "ops@acme.example",
            "webhook": { "url": "https://hooks.acme.example/cam", "secret": "hunter2" }
        },
        "defaults": { "daily_cap": 7 }
    });
    let (status, saved) = site.call("PUT", "/api/v1/settings", Some(&admin), Some(wanted)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["revision"], 2);
    assert!(!saved.to_string().contains("hunter2"), "{saved}");
    // Sent back as shown ("***"), with one change: the secret is kept.
    let mut edited = saved["settings"].clone();
    edited["alerts"]["email"] = json!("night@acme.example");
    let (status, again) = site.call("PUT", "/api/v1/settings", Some(&admin), Some(edited)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["settings"]["alerts"]["email"], "night@acme.example");
    assert_eq!(again["settings"]["alerts"]["webhook"]["secret"], "***");
    // Invalid settings name every bad field, and change nothing.
    let bad = json!({
        "sender": { "address": "not an address" },
        "alerts": { "webhook": { "url": "http://hooks.acme.example/x", "secret": { "env": "HOME" } } }
    });
    let (status, problem) = site.call("PUT", "/api/v1/settings", Some(&admin), Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["sender.address", "alerts.webhook.url", "alerts.webhook.secret"],
        "{problem}"
    );
    let (_, current) = site.call("GET", "/api/v1/settings", Some(&admin), None).await;
    assert_eq!(current["revision"], 3, "{current}");
    // The webhook secret in the database opens to what was given.
    let store = cam::store::open(&format!("sqlite://{}", site.root.join("cam.db").display()))
        .await
        .expect("store");
    let stored = store.tenant_settings("acme").await.expect("read").expect("stored");
    assert!(!stored.sealed.contains("hunter2"));
    let keys = cam::tenancy::ServerKeys::load(&site.root.join("server.keys")).expect("keys");
    let opened = cam::tenancy::SealedSettings::open(&keys, "acme", &stored.sealed).expect("opens");
    let secret = opened.settings.alerts.webhook.expect("webhook").secret;
    assert_eq!(secret.inline_value().map(|s| s.expose()), Some("hunter2"));

    // A new campaign that leaves its cap out gets the tenant's default; one
    // that gives its own keeps it.
    let (_, created) = site
        .post(
            "/api/v1/campaigns",
            &admin,
            json!({ "definition": definition("defaulted") }),
        )
        .await;
    assert_eq!(created["definition"]["daily_cap"], 7, "{created}");
    let mut own = definition("own-cap");
    own["daily_cap"] = json!(40);
    let (_, created) = site
        .post("/api/v1/campaigns", &admin, json!({ "definition": own }))
        .await;
    assert_eq!(created["definition"]["daily_cap"], 40, "{created}");

    // Ceilings: the host sets them; zero is refused by field.
    let host = site.token(None, "host");
    let (status, tenant) = site
        .call(
            "PUT",
            "/api/v1/tenants/acme/ceilings",
            Some(&host),
            Some(json!({ "max_memory_mib": 64, "max_concurrent_calls": 2 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["ceilings"]["max_memory_mib"], 64);
    assert_eq!(tenant["ceilings"]["max_timeout_ms"], Value::Null);
    let (status, problem) = site
        .call(
            "PUT",
            "/api/v1/tenants/acme/ceilings",
            Some(&host),
            Some(json!({ "max_timeout_ms": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "max_timeout_ms");
    let shown = cam_ok(&site.root, &["tenants", "show", "acme"]);
    assert!(
        shown.contains("memory 64 MiB") && shown.contains("concurrent calls 2"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_upload_list_and_roll_back_their_tenants_plugins() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let viewer = site.token(Some("acme"), "viewer");
    let (wasm, manifest) = kv_counter();

    let (status, _) = site.upload(&viewer, wasm.clone(), manifest.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot upload");
    let (status, first) = site.upload(&operator, wasm.clone(), manifest.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["name"].as_str(), first["active"].as_bool()),
        (Some("kv_counter"), Some(true))
    );
    let second_bytes = crate::retag::retagged(&wasm, "v2");
    let (status, second) = site.upload(&operator, second_bytes, manifest.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(first["sha256"], second["sha256"]);

    let (_, listed) = site.call("GET", "/api/v1/plugins", Some(&viewer), None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["sha256"], second["sha256"], "the newest upload is active");
    let (_, history) = site
        .call("GET", "/api/v1/plugins/kv_counter/versions", Some(&viewer), None)
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");

    let (status, rolled) = site
        .post("/api/v1/plugins/kv_counter/rollback", &operator, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert_eq!(rolled["sha256"], first["sha256"], "back to the first upload");
    let store = cam::store::open(&format!("sqlite://{}", site.root.join("cam.db").display()))
        .await
        .expect("store");
    let active = store.active_plugin_versions("acme").await.expect("active");
    assert_eq!(active[0].plugin.sha256, first["sha256"].as_str().expect("sha"));
    let (status, problem) = site
        .post(
            "/api/v1/plugins/kv_counter/rollback",
            &operator,
            json!({ "to": "ffff" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "to");

    // Bad uploads say which part is wrong, and change nothing.
    let (status, problem) = site.upload(&operator, b"not wasm".to_vec(), manifest.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "wasm", "{problem}");
    let (status, problem) = site.upload(&operator, wasm.clone(), "kind = \"teapot\"\n".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "manifest", "{problem}");
    let renamed = format!("name = \"../../etc/x\"\n{manifest}");
    let (status, problem) = site.upload(&operator, wasm.clone(), renamed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("plugin name"),
        "{problem}"
    );
    let (_, history) = site
        .call("GET", "/api/v1/plugins/kv_counter/versions", Some(&viewer), None)
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2), "nothing recorded: {history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_next_cycle_and_its_messages_and_changes_nothing() {
    let site = Site::start();
    let operator = site.token(Some("default"), "operator");
    let mut live = definition("preview");
    live["live"] = json!(true);
    live["score_threshold"] = json!(0.0);
    live["plugins"] = json!({ "enrichers": ["basic_enrich"], "scorer": "weighted_score" });
    let (status, created) = site
        .post("/api/v1/campaigns", &operator, json!({ "definition": live }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("id");
    let store = cam::store::open(&format!("sqlite://{}", site.root.join("cam.db").display()))
        .await
        .expect("store");
    let leads: Vec<_> = ["ana@lead.example", "ben@lead.example"]
        .iter()
        .enumerate()
        .map(|(i, email)| crate::support::sample_lead(i, email))
        .collect();
    store.insert_leads("default", id, &leads).await.expect("leads");

    let path = format!("/api/v1/campaigns/{id}/run");
    let (status, problem) = site
        .post(
            &path,
            &operator,
            json!({ "dry_run": false, "at": "2026-03-02T10:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "at", "a real cycle runs now: {problem}");

    // A Monday inside the send window; the campaign is live and paused.
    let (status, run) = site
        .post(
            &path,
            &operator,
            json!({ "dry_run": true, "at": "2026-03-02T10:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["report"]["dry_run"], true, "{run:#}");
    let messages = run["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{run:#}");
    let mut to: Vec<&str> = messages.iter().filter_map(|m| m["to"].as_str()).collect();
    to.sort();
    assert!(
        to[0].contains("ana@lead.example") && to[1].contains("ben@lead.example"),
        "{to:?}"
    );
    assert!(
        messages[0]["subject"].as_str().unwrap_or("").starts_with("Hello "),
        "{run:#}"
    );
    assert!(messages[0]["raw"].as_str().unwrap_or("").contains("List-Unsubscribe:"));

    // Nothing of the real campaign changed.
    for email in ["ana@lead.example", "ben@lead.example"] {
        let lead = store
            .lead_by_email("default", email)
            .await
            .expect("read")
            .expect("lead");
        assert_eq!(lead.state.as_str(), "NEW", "{email}");
        assert_eq!(lead.score, None, "{email} was not scored for real");
    }
    for state in [
        cam::domain::model::EmailState::Queued,
        cam::domain::model::EmailState::Sent,
    ] {
        let emails = store
            .emails_in_state("default", Some(id), state, 10)
            .await
            .expect("emails");
        assert!(emails.is_empty(), "{state:?}: {emails:?}");
    }
    assert!(
        store
            .recent_cycle_reports("default", Some(id), 10)
            .await
            .expect("reports")
            .is_empty()
    );
    let (_, after) = site
        .call("GET", &format!("/api/v1/campaigns/{id}"), Some(&operator), None)
        .await;
    assert_eq!(after["status"], "PAUSED", "{after}");

    // A real run of a (dry-run mail) campaign: under its lease, for real.
    let mut real = definition("real");
    real["score_threshold"] = json!(0.0);
    real["plugins"] = json!({ "scorer": "weighted_score" });
    let (_, created) = site
        .post(
            "/api/v1/campaigns",
            &operator,
            json!({ "definition": real, "start": true }),
        )
        .await;
    let real_id = created["id"].as_i64().expect("id");
    store
        .insert_leads("default", real_id, &[crate::support::sample_lead(0, "cy@lead.example")])
        .await
        .expect("lead");
    let real_path = format!("/api/v1/campaigns/{real_id}/run");
    assert!(
        store
            .try_acquire_lease("default", real_id, "busy-worker", std::time::Duration::from_secs(60))
            .await
            .expect("lease")
    );
    let (status, problem) = site.post(&real_path, &operator, json!({ "dry_run": false })).await;
    assert_eq!(status, StatusCode::CONFLICT, "a worker holds it: {problem}");
    store
        .release_lease("default", real_id, "busy-worker")
        .await
        .expect("release");
    let (status, ran) = site.post(&real_path, &operator, json!({ "dry_run": false })).await;
    assert_eq!(status, StatusCode::OK, "{ran}");
    assert_eq!(
        (ran["dry_run"].as_bool(), ran["running"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        ran["report"]["dry_run"], true,
        "the campaign's own mail is dry-run: {ran:#}"
    );
    let lead = store
        .lead_by_email("default", "cy@lead.example")
        .await
        .expect("read")
        .expect("lead");
    assert!(lead.score.is_some(), "the real cycle scored the lead");
    assert_eq!(
        store
            .recent_cycle_reports("default", Some(real_id), 5)
            .await
            .expect("reports")
            .len(),
        1,
        "its report is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_lists_exactly_the_documented_routes() {
    let site = Site::start();
    let documented: std::collections::BTreeSet<String> = documented_routes(&site)
        .await
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let listed: std::collections::BTreeSet<String> = readme
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('`').nth(1))
        .filter(|cell| cell.contains(" /api/v1/"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        listed, documented,
        "the README's API table and /api/v1/openapi.json differ"
    );
}
