//! Shared test helpers.

#![expect(dead_code, reason = "each test module uses a different subset")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cam::plugins::LoadedPlugin;
use cam::runtime::{CallScope, Limits, PluginError, Runtime};

/// Where the host's build script put the compiled plugins.
pub fn built_plugins_dir() -> PathBuf {
    PathBuf::from(env!("CAM_BUILT_PLUGINS_DIR"))
}

/// The `plugins/` source folder.
pub fn plugins_source_dir() -> PathBuf {
    PathBuf::from(env!("CAM_PLUGINS_SOURCE_DIR"))
}

/// A guest plugin the host's build script compiled: its crate name (the file
/// stem of its `.wasm` and manifest), its component and its manifest source.
/// [`plugin`] has one constant per plugin under `plugins/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltPlugin {
    /// The crate name, e.g. `weighted_score`.
    pub crate_name: &'static str,
    /// The compiled component.
    pub wasm: &'static str,
    /// The checked-in manifest.
    pub manifest: &'static str,
}

/// Every plugin the build script built, by crate name in capitals
/// (`plugin::WEIGHTED_SCORE`).
pub mod plugin {
    include!(concat!(env!("OUT_DIR"), "/built_plugins.rs"));
}

/// The compiled component of `plugin`.
pub fn wasm_path(plugin: BuiltPlugin) -> PathBuf {
    let path = PathBuf::from(plugin.wasm);
    assert!(
        path.exists(),
        "{} was not built: see the cargo warnings of the `cam` build script",
        path.display()
    );
    path
}

/// The manifest source of `plugin`.
pub fn manifest_source(plugin: BuiltPlugin) -> PathBuf {
    PathBuf::from(plugin.manifest)
}

/// Copies a built plugin and its manifest into `dir` (so a test can edit the
/// manifest) and returns the `.wasm` path there.
pub fn install_plugin(dir: &Path, plugin: BuiltPlugin) -> PathBuf {
    let name = plugin.crate_name;
    let wasm = dir.join(format!("{name}.wasm"));
    std::fs::copy(wasm_path(plugin), &wasm).expect("copy wasm");
    std::fs::copy(manifest_source(plugin), dir.join(format!("{name}.toml"))).expect("copy manifest");
    wasm
}

/// One runtime for the whole test binary, as in a real process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let limits = Limits {
            timeout: std::time::Duration::from_millis(3000),
            ..Limits::default()
        };
        Runtime::new(limits).expect("runtime starts")
    })
}

/// A call scope for tenant `t1` with no kv storage.
pub fn scope() -> CallScope {
    runtime().scope("t1", None)
}

/// Loads a built plugin with its checked-in manifest.
pub async fn load(plugin: BuiltPlugin) -> Result<LoadedPlugin, PluginError> {
    LoadedPlugin::load_file(runtime(), &wasm_path_with_manifest(plugin), scope()).await
}

/// Loads a built plugin with manifest text given by the test.
pub async fn load_with_manifest(plugin: BuiltPlugin, manifest: &str) -> Result<LoadedPlugin, PluginError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = plugin.crate_name;
    let wasm = dir.path().join(format!("{name}.wasm"));
    std::fs::copy(wasm_path(plugin), &wasm).expect("copy wasm");
    std::fs::write(dir.path().join(format!("{name}.toml")), manifest).expect("write manifest");
    LoadedPlugin::load_file(runtime(), &wasm, scope()).await
}

fn wasm_path_with_manifest(plugin: BuiltPlugin) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    // Tests load plugins concurrently: one installs while another would see
    // the .wasm already there but not yet its manifest.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    let wasm = dir.path().join(format!("{}.wasm", plugin.crate_name));
    let _installing = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    if !wasm.exists() {
        install_plugin(dir.path(), plugin);
    }
    wasm
}

/// A lead with just an email and a title.
pub fn lead(email: &str, title: &str) -> cam::runtime::bindings::types::Lead {
    cam::runtime::bindings::types::Lead {
        email: email.into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        company: "Analytical Engines".into(),
        domain: email.split('@').nth(1).unwrap_or_default().into(),
        title: title.into(),
        country: "DE".into(),
        timezone: "Europe/Berlin".into(),
        employees: Some(120),
        attributes: vec![],
    }
}

/// Keeps a shared value alive for the test binary.
pub fn shared<T: Send + Sync + 'static>(make: impl FnOnce() -> T, cell: &'static OnceLock<Arc<T>>) -> Arc<T> {
    cell.get_or_init(|| Arc::new(make())).clone()
}

pub use crate::retag::retagged;

/// A fresh database on the test PostgreSQL server, dropped with the value
/// (the one helper the store's conformance suite and the benches use too).
pub use cam::store::testing::PostgresDatabase;

/// The test leads the cycle tests use: a CTO at a 50-person German company,
/// number `i`, at `email`.
pub fn sample_lead(i: usize, email: &str) -> cam::domain::model::NewLead {
    cam::domain::model::NewLead {
        email: email.to_string(),
        first_name: format!("Person{i}"),
        last_name: "Tester".into(),
        company: format!("Company {i}"),
        title: "CTO".into(),
        country: "DE".into(),
        time_zone: "Europe/Berlin".into(),
        employees: Some(50),
        source_plugin: "test".into(),
        source_version: "1".into(),
        ..cam::domain::model::NewLead::default()
    }
}

/// Runs `cam --config <root>/cam.toml ARGS` with no `CAM_*` overrides from
/// the test's own environment that would change what the config says.
pub fn cam_in(root: &Path, args: &[&str]) -> std::process::Output {
    cam_command(root, args).output().expect("cam runs")
}

fn cam_command(root: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cam"));
    command
        .arg("--config")
        .arg(root.join("cam.toml"))
        .args(args)
        .env_remove("CAM_DATABASE_URL")
        .env_remove("CAM_NOW")
        .env_remove("CAM_OPERATOR_EMAIL")
        .env_remove("CAM_TENANT")
        .env_remove("CAM_SERVER_KEY_FILE");
    command
}

/// Runs `cam ARGS` in `root` acting for `tenant` (`CAM_TENANT`) and returns
/// its stdout; fails the test, with cam's stderr, if it fails.
pub fn cam_for(root: &Path, tenant: &str, args: &[&str]) -> String {
    let out = cam_command(root, args)
        .env("CAM_TENANT", tenant)
        .output()
        .expect("cam runs");
    assert!(
        out.status.success(),
        "cam {args:?} for {tenant} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cam ARGS` in `root` and returns its stdout; fails the test, with
/// cam's stderr, if it fails.
pub fn cam_ok(root: &Path, args: &[&str]) -> String {
    let out = cam_in(root, args);
    assert!(
        out.status.success(),
        "cam {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cam cycle --campaign CAMPAIGN --json --now NOW` in `root` and
/// returns its report; fails the test, with cam's stderr, if it fails.
pub fn cam_cycle(root: &Path, campaign: &str, now: &str) -> serde_json::Value {
    let output = cam_in(root, &["cycle", "--campaign", campaign, "--json", "--now", now]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cam cycle failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The count `name` of step `step` in a cycle report (0 when absent).
pub fn step_count(report: &serde_json::Value, step: &str, name: &str) -> u64 {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == step))
        .and_then(|s| s["counts"][name].as_u64())
        .unwrap_or(0)
}

/// Asserts each `(step, count, expected)` of a cycle report, showing the
/// whole report when one differs.
pub fn assert_step_counts(report: &serde_json::Value, expected: &[(&str, &str, u64)]) {
    for &(step, name, n) in expected {
        assert_eq!(step_count(report, step, name), n, "{step}/{name} in {report:#}");
    }
}

/// A header of a raw message (CRLF line ends), by name in any case.
pub fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n\r\n").next().and_then(|head| {
        head.lines()
            .find(|l| {
                l.len() > name.len() && l[..name.len()].eq_ignore_ascii_case(name) && l[name.len()..].starts_with(':')
            })
            .map(|l| l[name.len() + 1..].trim())
    })
}

/// What a test webhook receiver saw: (headers, body), one per request.
pub type Hooks = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// Starts a webhook receiver on loopback at `/hook` that answers 503 to
/// the first `failures` requests and 200 to the rest; returns its port.
pub async fn webhook_receiver(failures: usize) -> (u16, Hooks) {
    let hooks: Hooks = Arc::default();
    let seen = hooks.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().expect("lock");
                seen.push((headers, body.to_vec()));
                if seen.len() <= failures {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hooks)
}
