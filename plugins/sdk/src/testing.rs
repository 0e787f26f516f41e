//! In-memory stand-ins for the host imports, for native `cargo test` of a
//! plugin (only compiled for non-wasm targets).
//!
//! State is per thread, and cargo runs each test on its own thread, so tests
//! do not see each other's config or store. Call [`reset`] first when a test
//! thread may be reused (for example under `--test-threads=1`).
//!
//! ```ignore
//! cam_plugin_sdk::testing::set_config("threshold", "0.5");
//! cam_plugin_sdk::testing::on_http(|request| Ok(Response { status: 200, headers: vec![], body: b"{}".to_vec() }));
//! let page = MySource::next_page(None, 10)?;
//! ```

use crate::Attribute;
use crate::http::{Error as HttpError, Request, Response};
use crate::kv::Error as KvError;
use crate::log::Level;
use std::cell::RefCell;
use std::collections::BTreeMap;

type HttpHandler = Box<dyn FnMut(&Request) -> Result<Response, HttpError>>;

#[derive(Default)]
struct FakeHost {
    config: BTreeMap<String, String>,
    kv: BTreeMap<String, Vec<u8>>,
    now_ms: Option<i64>,
    logs: Vec<(Level, String)>,
    http: Option<HttpHandler>,
    requests: Vec<Request>,
}

thread_local! {
    static HOST: RefCell<FakeHost> = RefCell::new(FakeHost::default());
}

/// Forgets all config, kv entries, logs, the clock and the HTTP handler.
pub fn reset() {
    HOST.with(|host| *host.borrow_mut() = FakeHost::default());
}

/// Sets a config value as the host would pass it (strings raw, others as JSON text).
pub fn set_config(key: &str, value: &str) {
    HOST.with(|host| host.borrow_mut().config.insert(key.to_owned(), value.to_owned()));
}

/// Sets every value of a manifest's `[config]` table the way the host
/// passes them (strings raw, other values as JSON text), so a test can check
/// that the manifest shipped beside the plugin is accepted:
/// `testing::use_manifest_config(include_str!("../my_plugin.toml"))`.
pub fn use_manifest_config(manifest_toml: &str) -> Result<(), String> {
    let manifest: toml::Table = manifest_toml.parse().map_err(|e| format!("manifest: {e}"))?;
    let Some(config) = manifest.get("config") else {
        return Ok(());
    };
    let config = config
        .as_table()
        .ok_or_else(|| "manifest: `config` is not a table".to_owned())?;
    for (key, value) in config {
        let raw = match value {
            toml::Value::String(s) => s.clone(),
            other => serde_json::to_string(other).map_err(|e| format!("manifest: config `{key}`: {e}"))?,
        };
        set_config(key, &raw);
    }
    Ok(())
}

/// Fixes the clock at `ms` Unix milliseconds (otherwise it reads the system clock).
pub fn set_now(ms: i64) {
    HOST.with(|host| host.borrow_mut().now_ms = Some(ms));
}

/// Answers every HTTP request with `handler` (otherwise requests are denied).
pub fn on_http(handler: impl FnMut(&Request) -> Result<Response, HttpError> + 'static) {
    HOST.with(|host| host.borrow_mut().http = Some(Box::new(handler)));
}

/// The HTTP requests sent so far, oldest first.
pub fn requests() -> Vec<Request> {
    HOST.with(|host| host.borrow().requests.clone())
}

/// The log lines written so far, oldest first.
pub fn logs() -> Vec<(Level, String)> {
    HOST.with(|host| host.borrow().logs.clone())
}

pub(crate) fn config_get(key: &str) -> Option<String> {
    HOST.with(|host| host.borrow().config.get(key).cloned())
}

pub(crate) fn config_all() -> Vec<(String, String)> {
    HOST.with(|host| {
        host.borrow()
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

pub(crate) fn kv_get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    Ok(HOST.with(|host| host.borrow().kv.get(key).cloned()))
}

pub(crate) fn kv_set(key: &str, value: &[u8]) -> Result<(), KvError> {
    HOST.with(|host| host.borrow_mut().kv.insert(key.to_owned(), value.to_vec()));
    Ok(())
}

pub(crate) fn kv_delete(key: &str) -> Result<(), KvError> {
    HOST.with(|host| host.borrow_mut().kv.remove(key));
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    HOST.with(|host| host.borrow().now_ms).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

pub(crate) fn record_log(level: Level, message: &str, _fields: &[Attribute]) {
    HOST.with(|host| host.borrow_mut().logs.push((level, message.to_owned())));
}

pub(crate) fn http_send(request: &Request) -> Result<Response, HttpError> {
    // Take the handler out while it runs so it may itself use the fake host.
    let handler = HOST.with(|host| {
        let mut host = host.borrow_mut();
        host.requests.push(request.clone());
        host.http.take()
    });
    let Some(mut handler) = handler else {
        return Err(HttpError::Denied(format!(
            "{}: no HTTP handler in native tests (call cam_plugin_sdk::testing::on_http)",
            request.url
        )));
    };
    let response = handler(request);
    HOST.with(|host| {
        let mut host = host.borrow_mut();
        if host.http.is_none() {
            host.http = Some(handler);
        }
    });
    response
}
