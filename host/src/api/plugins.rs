//! `/api/v1/plugins`: the tenant's plugins — the active version of each with
//! its shadow candidate and every worker's view of its health, every
//! version's history, uploading a new version (validated under the tenant's
//! ceilings, kept in the database, followed by every worker) as the active
//! one or as a shadow candidate, the candidate's comparisons, promotion,
//! rollback and release from quarantine. Compiled code is shared by sha256
//! across tenants.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::body::Body;
use super::problem::Problem;
use crate::domain::model::{PluginVersionRecord, Role};
use crate::plugins::fleet::{Placement, Upload, UploadError, upload_component};
use crate::plugins::shadow::{DiffReport, ShadowRecord};
use crate::plugins::versions::{find_version, previous_version};
use crate::store::plugin_controls::HealthReport;

/// Largest component an upload takes (the Python example is 18 MB).
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;

/// One version as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VersionView {
    /// The plugin's name.
    pub name: String,
    /// Its kind (`scorer`, `enricher`, …).
    pub kind: String,
    /// The version the plugin reports.
    pub version: String,
    /// The sha256 of the component.
    pub sha256: String,
    /// Where it came from.
    pub source: String,
    /// When it was first recorded.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// Whether it is the one the tenant's campaigns run.
    pub active: bool,
}

impl From<PluginVersionRecord> for VersionView {
    fn from(r: PluginVersionRecord) -> VersionView {
        VersionView {
            name: r.plugin.name,
            kind: r.plugin.kind,
            version: r.plugin.version,
            sha256: r.plugin.sha256,
            source: r.plugin.source,
            recorded_at: r.recorded_at,
            active: r.active,
        }
    }
}

/// One plugin as `GET /plugins` shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PluginView {
    /// The active version.
    #[serde(flatten)]
    pub active: VersionView,
    /// The shadow candidate's sha256, if one runs beside it.
    pub shadow: Option<String>,
    /// Whether any worker has it quarantined (refuses to call it).
    pub quarantined: bool,
    /// Each worker's last report on the active version and the candidate.
    pub health: Vec<HealthReport>,
}

/// `GET /plugins`: the active version of each of the tenant's plugins, its
/// shadow candidate and its health as the workers last reported it.
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<PluginView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    Ok(Json(views(&state, tenant).await?))
}

/// Every plugin of `tenant` as the list shows it.
async fn views(state: &ApiState, tenant: &str) -> Result<Vec<PluginView>, Problem> {
    let active = state.store.active_plugin_versions(tenant).await?;
    let shadows = state.store.plugin_shadows(tenant).await?;
    let health = state.store.plugin_health(tenant).await?;
    Ok(active
        .into_iter()
        .map(|record| {
            let shadow = shadows.get(&record.plugin.name).cloned();
            let health: Vec<HealthReport> = health
                .iter()
                .filter(|h| {
                    h.name == record.plugin.name
                        && (h.sha256 == record.plugin.sha256 || Some(&h.sha256) == shadow.as_ref())
                })
                .cloned()
                .collect();
            let quarantined = health.iter().any(|h| h.quarantined && h.sha256 == record.plugin.sha256);
            PluginView {
                active: record.into(),
                shadow,
                quarantined,
                health,
            }
        })
        .collect())
}

/// Where `POST /plugins` puts the version.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `true`: run it as the shadow candidate beside the active version
    /// instead of making it active.
    #[serde(default)]
    pub shadow: bool,
}

/// `GET /plugins/{name}/versions`: every version, newest first.
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionView>>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let history = recorded_history(&state, tenant, &name).await?;
    Ok(Json(history.into_iter().map(VersionView::from).collect()))
}

/// `POST /plugins[?shadow=true]`: a multipart upload with a `wasm` part
/// (the component) and a `manifest` part (its TOML manifest).
pub async fn upload(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<UploadQuery>,
    mut form: Multipart,
) -> Result<(StatusCode, Json<VersionView>), Problem> {
    let tenant = match caller.tenant(Role::Operator) {
        Ok(tenant) => tenant.to_string(),
        Err(refused) => {
            // Read the upload to its end before refusing: a client still
            // sending would otherwise see a broken connection, not the answer.
            while let Ok(Some(mut field)) = form.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
            return Err(refused);
        }
    };
    let (mut wasm, mut manifest, mut file_stem) = (None, None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return Err(Problem::new(
                    e.status(),
                    format!("the upload is not a valid form: {}", e.body_text()),
                ));
            }
        };
        let part = field.name().unwrap_or_default().to_string();
        if part == "wasm" {
            file_stem = field
                .file_name()
                .and_then(|f| std::path::Path::new(f).file_stem())
                .map(|s| s.to_string_lossy().into_owned());
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| Problem::new(e.status(), format!("reading the `{part}` part: {}", e.body_text())))?;
        match part.as_str() {
            "wasm" => wasm = Some(bytes.to_vec()),
            "manifest" => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| Problem::invalid_field("manifest", "the manifest is not UTF-8 text"))?;
                manifest = Some(text);
            }
            other => {
                return Err(Problem::invalid_field(
                    other,
                    "unexpected part; send `wasm` (the component) and `manifest` (its TOML)",
                ));
            }
        }
    }
    let wasm = wasm.ok_or_else(|| Problem::invalid_field("wasm", "send the component as the `wasm` part"))?;
    let manifest_text =
        manifest.ok_or_else(|| Problem::invalid_field("manifest", "send the TOML manifest as the `manifest` part"))?;
    // Named as `cam plugins upload` names a file: the manifest's `name`, else
    // the uploaded file's name.
    let default_name = file_stem.filter(|s| !s.is_empty()).unwrap_or_default();
    if default_name.is_empty() && !manifest_text.lines().any(|l| l.trim_start().starts_with("name")) {
        return Err(Problem::invalid_field(
            "wasm",
            "name the plugin: send the component with a file name (curl -F wasm=@scorer.wasm) or set `name` in the manifest",
        ));
    }
    let tenant_row = state.store.get_tenant(&tenant).await?;
    let runtime = state.app.runtime().map_err(|e| Problem::internal_anyhow(&e))?;
    let cache = state.app.compile_cache().map_err(|e| Problem::internal_anyhow(&e))?;
    let upload = Upload {
        bytes: wasm,
        manifest_text,
        manifest_path: "manifest".into(),
        default_name,
        origin: "the uploaded component".into(),
    };
    let ceiling = crate::app::ceiling_of(&tenant_row.ceilings);
    let placement = if query.shadow {
        Placement::Shadow
    } else {
        Placement::Active
    };
    match upload_component(
        state.store.as_ref(),
        runtime,
        Some(cache),
        &tenant,
        ceiling,
        upload,
        placement,
    )
    .await
    {
        Ok(record) => {
            tracing::info!(tenant = %tenant, actor = %caller.actor(), plugin = %record.plugin.name, sha256 = %record.plugin.sha256, "plugin uploaded");
            Ok((StatusCode::CREATED, Json(record.into())))
        }
        Err(UploadError::Manifest(message)) => Err(Problem::invalid_field("manifest", message)),
        Err(UploadError::Invalid(message)) => Err(Problem::invalid_field("wasm", message)),
        Err(UploadError::Store(e)) => Err(e.into()),
    }
}

/// `POST /plugins/{name}/rollback`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The version to go back to (a sha256 prefix); by default the one
    /// active before the current one.
    #[serde(default)]
    pub to: Option<String>,
}

/// `POST /plugins/{name}/rollback`: makes an older version active again;
/// every worker follows.
pub async fn rollback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(request): Body<Rollback>,
) -> Result<Json<VersionView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let history = recorded_history(&state, tenant, &name).await?;
    let target = match request.to.as_deref() {
        Some(prefix) => find_version(&history, prefix).map_err(|e| Problem::invalid_field("to", e.to_string()))?,
        None => previous_version(&history).ok_or_else(|| {
            Problem::new(
                StatusCode::CONFLICT,
                format!("{name} has no version older than the active one; name one with `to`"),
            )
        })?,
    };
    if !target.active {
        if state.store.plugin_blob(tenant, &target.plugin.sha256).await?.is_none() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                format!(
                    "the bytes of {name} {} are not kept in the database (it was loaded from a plugins folder); upload it again",
                    &target.plugin.sha256[..12.min(target.plugin.sha256.len())]
                ),
            ));
        }
        state
            .store
            .activate_plugin_version(tenant, &name, &target.plugin.sha256)
            .await?;
        state.store.announce_plugin_change(tenant, &name).await?;
        tracing::info!(tenant = %tenant, actor = %caller.actor(), plugin = %name, sha256 = %target.plugin.sha256, "plugin rolled back");
    }
    let now = state.store.plugin_history(tenant, &name).await?;
    let active = now
        .into_iter()
        .find(|v| v.active)
        .ok_or_else(|| Problem::not_found("plugin"))?;
    Ok(Json(active.into()))
}

/// `POST /plugins/{name}/shadow`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowRequest {
    /// The version to run as the candidate (a sha256 prefix of an uploaded
    /// version), or `null` to stop shadowing.
    pub sha256: Option<String>,
}

/// `POST /plugins/{name}/shadow`: runs a kept version beside the active one
/// on every worker (its outputs recorded, never applied), or stops.
pub async fn shadow(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(request): Body<ShadowRequest>,
) -> Result<Json<PluginView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let history = recorded_history(&state, tenant, &name).await?;
    match request.sha256.as_deref() {
        Some(prefix) => {
            let target = find_version(&history, prefix).map_err(|e| Problem::invalid_field("sha256", e.to_string()))?;
            if target.active {
                return Err(Problem::invalid_field(
                    "sha256",
                    "that is the active version; a shadow candidate must differ from it",
                ));
            }
            if state.store.plugin_blob(tenant, &target.plugin.sha256).await?.is_none() {
                return Err(Problem::invalid_field(
                    "sha256",
                    "its bytes are not kept in the database; upload it with `?shadow=true`",
                ));
            }
            state
                .store
                .set_plugin_shadow(tenant, &name, Some(&target.plugin.sha256))
                .await?;
            state.store.clear_shadow_records(tenant, &name).await?;
        }
        None => state.store.set_plugin_shadow(tenant, &name, None).await?,
    }
    state.store.announce_plugin_change(tenant, &name).await?;
    tracing::info!(tenant = %tenant, actor = %caller.actor(), plugin = %name, "shadow candidate changed");
    one(&state, tenant, &name).await
}

/// `GET /plugins/{name}/diff`: how often the shadow candidate agreed with
/// the active version (the last 1,000 comparisons), and where not.
pub async fn diff(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DiffReport>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    recorded_history(&state, tenant, &name).await?;
    let candidate = state.store.plugin_shadows(tenant).await?.remove(&name);
    let records: Vec<ShadowRecord> = state
        .store
        .shadow_records(tenant, &name, 1000)
        .await?
        .into_iter()
        .map(ShadowRecord::from)
        .collect();
    // Records name versions by their short sha256 (12 hex digits).
    let candidate_version = candidate.as_deref().map(|sha| sha.get(..12).unwrap_or(sha));
    Ok(Json(DiffReport::from_records(&name, records, candidate_version)))
}

/// `POST /plugins/{name}/promote`: the shadow candidate becomes the active
/// version on every worker.
pub async fn promote(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PluginView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    recorded_history(&state, tenant, &name).await?;
    let Some(candidate) = state.store.plugin_shadows(tenant).await?.remove(&name) else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("{name} has no shadow candidate to promote; set one with POST /plugins/{name}/shadow"),
        ));
    };
    state.store.activate_plugin_version(tenant, &name, &candidate).await?;
    state.store.set_plugin_shadow(tenant, &name, None).await?;
    state.store.clear_shadow_records(tenant, &name).await?;
    state.store.announce_plugin_change(tenant, &name).await?;
    tracing::info!(tenant = %tenant, actor = %caller.actor(), plugin = %name, sha256 = %candidate, "shadow candidate promoted");
    one(&state, tenant, &name).await
}

/// `POST /plugins/{name}/release`: every worker releases the plugin from
/// quarantine at its next sync.
pub async fn release(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PluginView>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    recorded_history(&state, tenant, &name).await?;
    state
        .store
        .request_plugin_release(tenant, &name, chrono::Utc::now())
        .await?;
    state.store.announce_plugin_change(tenant, &name).await?;
    tracing::info!(tenant = %tenant, actor = %caller.actor(), plugin = %name, "release from quarantine requested");
    one(&state, tenant, &name).await
}

/// One plugin as the list shows it.
async fn one(state: &ApiState, tenant: &str, name: &str) -> Result<Json<PluginView>, Problem> {
    views(state, tenant)
        .await?
        .into_iter()
        .find(|p| p.active.name == name)
        .map(Json)
        .ok_or_else(|| Problem::not_found("plugin"))
}

/// Every recorded version of `name`, newest first; 404 when the tenant has
/// no plugin of that name.
async fn recorded_history(state: &ApiState, tenant: &str, name: &str) -> Result<Vec<PluginVersionRecord>, Problem> {
    let history = state.store.plugin_history(tenant, name).await?;
    if history.is_empty() {
        return Err(Problem::not_found("plugin"));
    }
    Ok(history)
}
