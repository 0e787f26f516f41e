//! `cam plugins check` and `cam plugins list`, run as a user runs them
//! (`cam plugins new` is in `cli_scaffold`).

use std::path::Path;
use std::process::Command;

use crate::support::install_plugin;

fn cam(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cam"));
    command
        .current_dir(dir)
        .env("CAM_CONFIG", dir.join("cam.toml"))
        .env_remove("RUST_LOG");
    command
}

#[test]
fn check_reports_a_valid_plugin_with_its_kind_version_and_grants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = install_plugin(dir.path(), "guardrails");
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
    let wasm = install_plugin(dir.path(), "guardrails");
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
    let wasm = install_plugin(dir.path(), "guardrails");
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
