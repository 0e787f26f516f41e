//! `cam plugins check` and `cam plugins new`, run as a user runs them.

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

#[test]
fn a_scaffolded_plugin_builds_with_one_command_and_passes_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cam(dir.path())
        .args(["plugins", "new", "scorer", "my-scorer"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let crate_dir = dir.path().join("my-scorer");
    assert!(crate_dir.join("my_scorer.toml").exists());

    // The one command the README of the scaffold gives; a shared target dir
    // keeps repeated test runs from rebuilding wit-bindgen.
    let target_dir = Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../../scaffold-target");
    let build = Command::new(env!("CARGO"))
        .current_dir(&crate_dir)
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));

    let wasm = target_dir.join("wasm32-wasip2/release/my_scorer.wasm");
    std::fs::copy(&wasm, crate_dir.join("my_scorer.wasm")).expect("copy");
    let out = cam(dir.path())
        .args(["plugins", "check", "my-scorer/my_scorer.wasm"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("valid scorer plugin"), "{stdout}");

    let again = cam(dir.path())
        .args(["plugins", "new", "scorer", "my-scorer"])
        .output()
        .expect("runs");
    assert!(!again.status.success(), "refuses to overwrite");
}
