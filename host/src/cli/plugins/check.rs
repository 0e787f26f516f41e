//! `cam plugins check FILE`: load one component with its manifest through
//! the compile cache, validate it against its world, call `describe`, then
//! call the kind's main function on a built-in sample (or `--input FILE`),
//! in audit mode, and report the output, the call's time and memory
//! high-water, and every host capability it used. A capability used (or
//! listed in `describe`'s needs) that the manifest does not grant fails the
//! check, with what to add to the manifest.
//!
//! Where compiled components are cached: the configured plugins folder's
//! `.cache/` when that folder exists (the cache the cycle and the worker
//! use, so checking a file before copying it in also warms the worker),
//! else the per-user cache folder ([`user_cache_dir`]), else nowhere.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::sample::{self, CallInput};
use super::{capability_names, error_json, granted, plugin_json};
use crate::config::Config;
use crate::plugins::cache::{CacheOutcome, CompileCache, user_cache_dir};
use crate::plugins::reloader::CACHE_DIR;
use crate::plugins::{LoadedPlugin, Manifest};
use crate::runtime::PluginError;
use crate::runtime::Runtime;
use crate::runtime::bindings::types::Capability;
use crate::runtime::host_pattern::HostPattern;
use crate::runtime::kv_backend::{KvBackend, KvFailure};
use crate::runtime::net_policy;
use crate::runtime::state::{AuditRecord, CapabilitySet};

/// Lines of output shown in text mode; `--json` shows all of it.
const TEXT_OUTPUT_LINES: usize = 40;

/// The compile cache `check` uses, and where it is (for the report).
pub(super) fn check_cache(config: &Config, runtime: &Runtime) -> Option<Arc<CompileCache>> {
    let dir = if config.plugins_dir.is_dir() {
        config.plugins_dir.join(CACHE_DIR)
    } else {
        user_cache_dir()?
    };
    Some(Arc::new(CompileCache::new(dir, runtime.engine())))
}

/// A capability the manifest must grant, and how.
struct Problem {
    capability: &'static str,
    message: String,
    fix: String,
}

/// Runs `cam plugins check`.
pub async fn check(config: &Config, file: &Path, input_file: Option<&Path>, as_json: bool) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new(config.limits)?;
    let cache = check_cache(config, &runtime);
    let cache_dir = cache.as_ref().map(|c| c.dir().to_path_buf());
    // A bad input file is reported before a compile that may take seconds.
    let now = chrono::Utc::now().timestamp();
    let from_file = match (input_file, Manifest::load_for(file)) {
        (Some(path), Ok(manifest)) => Some(sample::read_input(path, manifest.kind, now)?),
        _ => None,
    };
    let describe_scope = runtime.scope(&config.tenant, None).audited();
    let describe_audit = describe_scope.audit.clone();
    let started = Instant::now();
    let loaded = LoadedPlugin::load_file_cached(&runtime, file, cache, describe_scope).await;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let (plugin, outcome) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return failed_to_load(&error, file, as_json),
    };
    let describe = describe_audit.map(|a| a.record()).unwrap_or_default();
    let input = from_file.unwrap_or_else(|| sample::sample(plugin.kind(), now));
    let call = input.describe(plugin.kind());

    let kv: Arc<dyn KvBackend> = Arc::new(ScratchKv::default());
    let scope = runtime.scope(&config.tenant, Some(kv)).audited();
    let audit = scope.audit.clone();
    let result = call_main(&plugin, scope, &input).await;
    let record = audit.map(|a| a.record()).unwrap_or_default();

    let problems = problems(&plugin, &Manifest::path_for(file), &describe, &record);
    let mut warnings = undeclared(&plugin, &describe, &record);
    if let Some(grant) = &plugin.manifest().capabilities.http {
        warnings.extend(non_public_allows(&grant.allow));
    }
    let ok = result.is_ok() && problems.is_empty();
    let used = describe.counters.used.union(record.counters.used);

    if as_json {
        let mut report = plugin_json(&plugin, file);
        report["ok"] = json!(ok);
        report["compiled"] = json!(match outcome {
            CacheOutcome::Hit => "cached",
            CacheOutcome::Compiled => "compiled",
            CacheOutcome::Shared => "shared",
        });
        report["cache"] = json!(cache_dir.as_ref().map(|d| d.display().to_string()));
        report["load_ms"] = json!(round(load_ms));
        report["call"] = json!({
            "call": call,
            "input": input_file.map_or_else(|| "built-in sample".to_string(), |p| p.display().to_string()),
            "ok": result.is_ok(),
            "output": result.as_ref().ok(),
            "error": result.as_ref().err().map(|e| json!({ "kind": e.kind.as_str(), "message": e.message })),
            "elapsed_ms": round(record.elapsed.as_secs_f64() * 1e3),
            "memory": {
                "high_water_bytes": record.total_memory_bytes,
                "largest_memory_bytes": record.largest_memory_bytes,
                "cap_bytes_per_memory": plugin.identity().limits.memory_bytes,
            },
            "capabilities_used": names(record.counters.used),
            "log": record.log_lines,
            "http": {
                "requests": record.counters.http_requests,
                "hosts": record.http_targets,
                "refused": record.http_refused,
            },
        });
        report["capabilities_used"] = json!(names(used));
        report["problems"] = Value::Array(
            problems
                .iter()
                .map(|p| json!({ "capability": p.capability, "message": p.message, "fix": p.fix }))
                .collect(),
        );
        report["warnings"] = json!(warnings);
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let info = plugin.info();
        if ok {
            println!("OK  {} is a valid {} plugin", file.display(), plugin.kind());
        } else {
            println!(
                "FAILED  {} is a {} plugin that fails the check",
                file.display(),
                plugin.kind()
            );
        }
        println!("    name         {}", plugin.name());
        println!("    version      {} (sha256 {})", plugin.version(), plugin.sha256());
        println!("    describe     {} {} — {}", info.name, info.version, info.description);
        println!("    needs        {}", capability_names(&info.needs).join(", "));
        println!("    granted      {}", granted(&plugin).join(", "));
        let limits = plugin.identity().limits;
        println!(
            "    limits       {} ms, {} MiB, {} log lines per call",
            limits.timeout.as_millis(),
            limits.memory_bytes >> 20,
            limits.max_log_lines
        );
        for note in plugin.notes() {
            println!("    note         {note}");
        }
        println!(
            "    compiled     {}",
            match (outcome, &cache_dir) {
                (CacheOutcome::Hit | CacheOutcome::Shared, Some(dir)) =>
                    format!("cached (from {}; loaded in {load_ms:.0} ms)", dir.display()),
                (CacheOutcome::Compiled, Some(dir)) => {
                    format!(
                        "compiled now in {load_ms:.0} ms (cached in {} for next time)",
                        dir.display()
                    )
                }
                (_, None) =>
                    format!("compiled now in {load_ms:.0} ms (no cache folder: no plugins folder and no home)"),
            }
        );
        println!(
            "    call         {call} on {} → {} in {:.1} ms",
            input_file.map_or_else(|| "the built-in sample".to_string(), |p| p.display().to_string()),
            if result.is_ok() { "ok" } else { "FAILED" },
            record.elapsed.as_secs_f64() * 1e3
        );
        println!(
            "    memory       {} high-water (largest memory {}, cap {} per memory)",
            mib(record.total_memory_bytes),
            mib(record.largest_memory_bytes),
            mib(limits.memory_bytes)
        );
        println!("    used         {}", or_none(names(used).join(", ")));
        if record.counters.http_requests > 0 || !record.http_refused.is_empty() {
            println!(
                "    http         {} request(s) to {}{}",
                record.counters.http_requests,
                or_none(record.http_targets.join(", ")),
                if record.http_refused.is_empty() {
                    String::new()
                } else {
                    format!("; refused: {}", record.http_refused.join(", "))
                }
            );
        }
        for line in &record.log_lines {
            println!("    log          {line}");
        }
        match &result {
            Ok(output) => print_output(output),
            Err(error) => println!("    error        {}: {}", error.kind, error.message),
        }
        for warning in &warnings {
            println!("    warning      {warning}");
        }
        if !ok {
            eprintln!("FAILED  {}", file.display());
            if let Err(error) = &result {
                eprintln!("    the sample call failed: {}: {}", error.kind, error.message);
            }
            for problem in &problems {
                eprintln!("    {}: {}", problem.capability, problem.message);
                eprintln!("        fix: {}", problem.fix);
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The load failed: reported as before the sample call existed.
fn failed_to_load(error: &PluginError, file: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(&error_json(error, file))?);
    } else {
        eprintln!("FAILED  {}", file.display());
        eprintln!("    {}: {}", error.kind, error.message);
    }
    Ok(ExitCode::FAILURE)
}

/// Calls the kind's main function on `input`, its output as JSON.
async fn call_main(
    plugin: &LoadedPlugin,
    scope: crate::runtime::CallScope,
    input: &CallInput,
) -> Result<Value, PluginError> {
    use crate::plugins::PluginKind;
    match input {
        CallInput::NextPage { cursor, limit } => plugin
            .next_page(scope, cursor.as_deref(), *limit)
            .await
            .map(|page| sample::page_json(&page)),
        CallInput::Leads(leads) if plugin.kind() == PluginKind::Enricher => plugin
            .enrich(scope, leads)
            .await
            .map(|results| sample::enrichments_json(&results)),
        CallInput::Leads(leads) => plugin
            .score(scope, leads)
            .await
            .map(|scores| sample::scores_json(&scores)),
        CallInput::Reply(reply) => plugin
            .classify(scope, reply)
            .await
            .map(|c| sample::classification_json(&c)),
        CallInput::Snapshot(snapshot) => plugin
            .decide(scope, snapshot)
            .await
            .map(|decisions| sample::decisions_json(&decisions)),
    }
}

/// What the manifest must grant: capabilities the calls used without a
/// grant, `describe`'s needs without a grant, and HTTP hosts the allow-list
/// refused.
fn problems(plugin: &LoadedPlugin, manifest: &Path, describe: &AuditRecord, call: &AuditRecord) -> Vec<Problem> {
    let grants = &plugin.manifest().capabilities;
    let denied = describe.counters.denied.union(call.counters.denied);
    let mut refused: Vec<String> = describe.http_refused.clone();
    for host in &call.http_refused {
        if !refused.contains(host) {
            refused.push(host.clone());
        }
    }
    let mut problems = Vec::new();
    for capability in denied.iter() {
        let name = capability.name();
        let effect = match capability {
            Capability::Kv => "in a cycle every kv call gets the `denied` error",
            Capability::Http => "in a cycle every request gets the `denied` error",
            _ => "in a cycle the call fails with capability-denied",
        };
        problems.push(Problem {
            capability: name,
            message: format!("the plugin used `{name}`, which its manifest does not grant; {effect}"),
            fix: grant_fix(capability, &refused, manifest),
        });
    }
    for capability in plugin.info().needs.iter().copied() {
        let name = capability.name();
        if !grants.grants(capability) && !denied.contains(capability) {
            problems.push(Problem {
                capability: name,
                message: format!(
                    "describe lists `{name}` in its needs but the manifest does not grant it; the cycle refuses to load the plugin"
                ),
                fix: grant_fix(capability, &refused, manifest),
            });
        }
    }
    if grants.http.is_some() {
        for host in &refused {
            problems.push(Problem {
                capability: "http",
                message: format!("the plugin sent a request to {host}, which the manifest's http allow-list does not list; it got the `denied` error"),
                fix: format!(
                    "add \"{host}\" to `http = {{ allow = [...] }}` under [capabilities] in {}",
                    manifest.display()
                ),
            });
        }
    }
    problems
}

/// The manifest line that grants `capability`.
fn grant_fix(capability: Capability, hosts: &[String], manifest: &Path) -> String {
    let line = match capability {
        Capability::Kv => "kv = { quota_bytes = 65536 }".to_string(),
        Capability::Http => {
            let hosts: Vec<String> = if hosts.is_empty() {
                vec!["\"api.example.com\"".into()]
            } else {
                hosts.iter().map(|h| format!("\"{h}\"")).collect()
            };
            format!("http = {{ allow = [{}] }}", hosts.join(", "))
        }
        Capability::Log | Capability::Config | Capability::Clock => format!("{} = true", capability.name()),
    };
    format!("add `{line}` under [capabilities] in {}", manifest.display())
}

/// Capabilities used but missing from `describe`'s needs (granted or not).
fn undeclared(plugin: &LoadedPlugin, describe: &AuditRecord, call: &AuditRecord) -> Vec<String> {
    let needs = &plugin.info().needs;
    describe
        .counters
        .used
        .union(call.counters.used)
        .iter()
        .filter(|c| !needs.contains(c))
        .map(|c| {
            format!(
                "the plugin used `{}` but describe's needs does not list it; list it so operators see what it uses",
                c.name()
            )
        })
        .collect()
}

/// Allow-list entries that name a non-public address (loopback, private,
/// link-local...): requests to it are let through (see
/// `runtime::net_policy`), which suits a test and rarely production.
fn non_public_allows(allow: &[HostPattern]) -> Vec<String> {
    allow
        .iter()
        .filter(|pattern| pattern.literal_ip().is_some_and(|ip| !net_policy::is_public(ip)))
        .map(|pattern| {
            format!(
                "http.allow names `{pattern}`, a non-public address: the plugin may reach it (fine for a test; in production allow public hosts only)"
            )
        })
        .collect()
}

fn names(set: CapabilitySet) -> Vec<&'static str> {
    set.iter().map(Capability::name).collect()
}

fn or_none(text: String) -> String {
    if text.is_empty() { "none".into() } else { text }
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The output as pretty JSON, cut after [`TEXT_OUTPUT_LINES`] lines.
fn print_output(output: &Value) {
    let text = serde_json::to_string_pretty(output).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().take(TEXT_OUTPUT_LINES).enumerate() {
        println!("    {:<13}{line}", if i == 0 { "output" } else { "" });
    }
    if lines.len() > TEXT_OUTPUT_LINES {
        println!(
            "                 … {} more lines (`--json` shows the whole output)",
            lines.len() - TEXT_OUTPUT_LINES
        );
    }
}

/// The `kv` the sample call gets: empty at the start, in memory, thrown
/// away afterwards, so a check never touches the database. Keeps the quota.
#[derive(Default)]
struct ScratchKv(Mutex<HashMap<String, Vec<u8>>>);

impl ScratchKv {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl KvBackend for ScratchKv {
    async fn kv_get(&self, _tenant: &str, _plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvFailure> {
        Ok(self.entries().get(key).cloned())
    }

    async fn kv_set(
        &self,
        _tenant: &str,
        _plugin: &str,
        key: &str,
        value: &[u8],
        quota_bytes: u64,
    ) -> Result<(), KvFailure> {
        let mut entries = self.entries();
        let used: u64 = entries
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        let wanted = (key.len() + value.len()) as u64;
        if used + wanted > quota_bytes {
            return Err(KvFailure::QuotaExceeded {
                used,
                wanted,
                quota: quota_bytes,
            });
        }
        entries.insert(key.to_string(), value.to_vec());
        Ok(())
    }

    async fn kv_delete(&self, _tenant: &str, _plugin: &str, key: &str) -> Result<(), KvFailure> {
        self.entries().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::bindings::types::Lead;
    use crate::runtime::{FailureKind, Limits};

    fn lead() -> Lead {
        Lead {
            email: "ada@acme.de".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: "Acme".into(),
            domain: "acme.de".into(),
            title: "CTO".into(),
            country: "DE".into(),
            timezone: "Europe/Berlin".into(),
            employees: Some(120),
            attributes: vec![],
        }
    }

    /// weighted_score (which uses `config` and `log`) with a manifest that
    /// grants nothing: refused outside audit mode; in audit mode it loads,
    /// its call runs to the end, and the record names both capabilities as
    /// used without a grant, with the call's time and memory.
    #[test]
    fn an_allow_list_naming_a_loopback_or_private_address_is_pointed_out() {
        let allow: Vec<super::HostPattern> = ["127.0.0.1:*", "api.example.com", "8.8.8.8", "[::1]:80"]
            .iter()
            .map(|p| p.parse().expect("pattern"))
            .collect();
        let warnings = super::non_public_allows(&allow);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("`127.0.0.1:*`, a non-public address"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("[::1]:80"), "{warnings:?}");
    }

    #[tokio::test]
    async fn audit_mode_records_ungranted_imports_instead_of_failing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = dir.path().join("weighted_score.wasm");
        std::fs::copy(
            std::path::Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("weighted_score.wasm"),
            &wasm,
        )
        .expect("copy the built plugin");
        std::fs::write(dir.path().join("weighted_score.toml"), "kind = \"scorer\"\n").expect("manifest");
        let runtime = Runtime::new(Limits::default()).expect("runtime");

        let refused = LoadedPlugin::load_file(&runtime, &wasm, runtime.scope("t", None))
            .await
            .expect_err("needs not granted");
        assert_eq!(refused.kind, FailureKind::CapabilityDenied);

        let plugin = LoadedPlugin::load_file(&runtime, &wasm, runtime.scope("t", None).audited())
            .await
            .expect("loads in audit mode");
        let scope = runtime.scope("t", None).audited();
        let audit = scope.audit.clone().expect("audited");
        let scores = plugin.score(scope, &[lead()]).await.expect("the call runs to its end");
        assert_eq!(scores.len(), 1);
        let record = audit.record();
        assert!(record.finished);
        let used: Vec<_> = record.counters.used.iter().map(Capability::name).collect();
        let denied: Vec<_> = record.counters.denied.iter().map(Capability::name).collect();
        assert_eq!(used, ["log", "config"]);
        assert_eq!(denied, ["log", "config"]);
        assert!(
            record.log_lines.iter().all(|l| l.contains("not granted")),
            "{:?}",
            record.log_lines
        );
        assert!(record.total_memory_bytes >= record.largest_memory_bytes);
        assert!(record.largest_memory_bytes > 0);
        assert!(record.elapsed > Duration::ZERO);
    }
}
