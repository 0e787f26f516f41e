//! `cam plugins check` and `cam plugins list`, run as a user runs them
//! (`cam plugins new` is in `cli_scaffold`).

use std::path::Path;
use std::process::Command;

use crate::support::{install_plugin, plugin};

fn cam(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cam"));
    command
        .current_dir(dir)
        .env("CAM_CONFIG", dir.join("cam.toml"))
        // `check` of a file outside any plugins folder caches compiled
        // components in the user's cache folder: the test's own.
        .env("XDG_CACHE_HOME", dir.join("user-cache"))
        .env_remove("CAM_PLUGINS_DIR")
        .env_remove("RUST_LOG");
    command
}

/// Runs `cam ARGS` in `dir`: (success, stdout, stderr).
fn run(dir: &Path, args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = cam(dir).args(args).output().expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `cam plugins check --json ARGS` in `dir` and parses its report.
fn check_json(dir: &Path, args: &[&std::ffi::OsStr]) -> (bool, serde_json::Value) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["plugins".as_ref(), "check".as_ref(), "--json".as_ref()];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = run(dir, &all);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}{stderr}"));
    (ok, report)
}

#[test]
fn check_reports_a_valid_plugin_with_its_kind_version_and_grants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::GUARDRAILS);
    let out = cam(dir.path())
        .args(["plugins", "check"])
        .arg(&wasm)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("valid decision-rule plugin"), "{stdout}");
    assert!(stdout.contains("granted      log, config"), "{stdout}");

    let out = cam(dir.path())
        .args(["plugins", "check", "--json"])
        .arg(&wasm)
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["kind"], "decision-rule");
    assert_eq!(report["sha256"].as_str().map(str::len), Some(64));
}

#[test]
fn check_explains_a_manifest_that_declares_the_wrong_kind_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::GUARDRAILS);
    std::fs::write(dir.path().join("guardrails.toml"), "kind = \"scorer\"\n").expect("write");
    let out = cam(dir.path())
        .args(["plugins", "check"])
        .arg(&wasm)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("wrong-world") && stderr.contains("decision-rule"),
        "{stderr}"
    );
}

#[test]
fn check_names_an_unknown_manifest_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::GUARDRAILS);
    std::fs::write(
        dir.path().join("guardrails.toml"),
        "kind = \"decision-rule\"\nfilesystem = true\n",
    )
    .expect("write");
    let out = cam(dir.path())
        .args(["plugins", "check"])
        .arg(&wasm)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid-manifest") && stderr.contains("filesystem"),
        "{stderr}"
    );
}

#[test]
fn check_calls_the_plugin_on_a_sample_and_reports_its_output_and_capabilities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::WEIGHTED_SCORE);
    let (ok, stdout, stderr) = run(dir.path(), &["plugins".as_ref(), "check".as_ref(), wasm.as_os_str()]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("call         score(3 leads) on the built-in sample → ok"),
        "{stdout}"
    );
    assert!(stdout.contains("used         log, config"), "{stdout}");
    assert!(stdout.contains("high-water"), "{stdout}");
    assert!(
        stdout.contains("output") && stdout.contains("title \\\"CTO\\\" matches"),
        "{stdout}"
    );

    let (ok, report) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert!(ok, "{report:#}");
    assert_eq!(report["call"]["ok"], true, "{report:#}");
    assert_eq!(report["call"]["output"].as_array().map(Vec::len), Some(3), "{report:#}");
    assert_eq!(
        report["call"]["capabilities_used"],
        serde_json::json!(["log", "config"])
    );
    assert!(
        report["call"]["memory"]["high_water_bytes"].as_u64() > Some(0),
        "{report:#}"
    );
    assert!(report["call"]["elapsed_ms"].as_f64() > Some(0.0), "{report:#}");
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn check_flags_a_capability_the_call_uses_without_a_grant_and_says_what_to_add() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::WEIGHTED_SCORE);
    let manifest = dir.path().join("weighted_score.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("log = true", "")).expect("write");
    let (ok, stdout, stderr) = run(dir.path(), &["plugins".as_ref(), "check".as_ref(), wasm.as_os_str()]);
    assert!(!ok, "{stdout}{stderr}");
    // The call ran to its end in audit mode: its log line was dropped, not fatal.
    assert!(stdout.contains("used         log, config"), "{stdout}");
    assert!(stdout.contains("(dropped: `log` not granted)"), "{stdout}");
    assert!(
        stderr.contains("the plugin used `log`, which its manifest does not grant"),
        "{stderr}"
    );
    assert!(
        stderr.contains("add `log = true` under [capabilities]") && stderr.contains("weighted_score.toml"),
        "{stderr}"
    );

    let (ok, report) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert!(!ok);
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["capability"], "log", "{report:#}");
}

#[test]
fn a_second_check_of_the_same_file_is_served_from_the_compile_cache_list_shares_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No plugins folder: the user's cache folder.
    let wasm = install_plugin(dir.path(), plugin::GUARDRAILS);
    let (ok, first) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert!(ok, "{first:#}");
    assert_eq!(first["compiled"], "compiled", "{first:#}");
    let (_, second) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert_eq!(second["compiled"], "cached", "{second:#}");
    assert!(
        second["cache"].as_str().is_some_and(|c| c.contains("user-cache")),
        "{second:#}"
    );

    // With a plugins folder: its .cache, the one the cycle uses; `plugins
    // list` then loads from it.
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).expect("plugins folder");
    let wasm = install_plugin(&plugins, plugin::BASIC_ENRICH);
    let (ok, report) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert!(ok, "{report:#}");
    assert_eq!(report["compiled"], "compiled", "{report:#}");
    assert_eq!(report["cache"], plugins.join(".cache").display().to_string());
    let (ok, stdout, stderr) = run(dir.path(), &["plugins".as_ref(), "list".as_ref(), "--json".as_ref()]);
    assert!(ok, "{stdout}{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(rows[0]["name"], "basic_enrich", "{rows:#}");
    assert_eq!(rows[0]["compiled"], "cached", "{rows:#}");
}

#[test]
fn check_runs_on_an_input_file_and_explains_a_malformed_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), plugin::GUARDRAILS);
    let good = dir.path().join("snapshot.json");
    std::fs::write(
        &good,
        r#"{"campaign": "q1", "status": "running", "goal": 5, "metrics": {"sent": 100, "complaints": 2}}"#,
    )
    .expect("write");
    let (ok, report) = check_json(dir.path(), &[wasm.as_os_str(), "--input".as_ref(), good.as_os_str()]);
    assert!(ok, "{report:#}");
    assert_eq!(report["call"]["input"], good.display().to_string());
    let output = report["call"]["output"].to_string();
    assert!(
        output.contains("pause-campaign") && output.contains("complaint"),
        "{output}"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"campaign": "q1", "metrcs": {"sent": 100}}"#).expect("write");
    let (ok, stdout, stderr) = run(
        dir.path(),
        &[
            "plugins".as_ref(),
            "check".as_ref(),
            wasm.as_os_str(),
            "--input".as_ref(),
            bad.as_os_str(),
        ],
    );
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("not valid decision-rule input") && stderr.contains("metrcs"),
        "{stderr}"
    );

    std::fs::write(&bad, "[{\"email\": ").expect("write");
    let (ok, _, stderr) = run(
        dir.path(),
        &[
            "plugins".as_ref(),
            "check".as_ref(),
            wasm.as_os_str(),
            "--input".as_ref(),
            bad.as_os_str(),
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("bad.json") && stderr.contains("line 1"), "{stderr}");
}

#[test]
fn mail_classify_loads_the_reply_classifier_through_the_plugins_folders_compile_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).expect("plugins folder");
    let wasm = install_plugin(&plugins, plugin::HEURISTIC_REPLIES);
    let reply = dir.path().join("reply.eml");
    std::fs::write(
        &reply,
        "From: jo@acme.example\r\nSubject: Re: hi\r\n\r\nSounds interesting, let's talk on Tuesday.\r\n",
    )
    .expect("write");
    let (ok, stdout, stderr) = run(dir.path(), &["mail".as_ref(), "classify".as_ref(), reply.as_os_str()]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("human reply: interested"), "{stdout}");
    let sha256 = cam::plugins::loaded::sha256_hex(&std::fs::read(&wasm).expect("read"));
    let cached: Vec<String> = std::fs::read_dir(plugins.join(".cache"))
        .expect("the plugins folder's compile cache")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(cached.iter().any(|name| name.starts_with(&sha256)), "{cached:?}");

    // `plugins check` of the same file is then served from that cache.
    let (ok, report) = check_json(dir.path(), &[wasm.as_os_str()]);
    assert!(ok, "{report:#}");
    assert_eq!(report["compiled"], "cached", "{report:#}");
}
