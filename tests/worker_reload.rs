//! A rule swapped under a running `cam run` worker: the worker picks up the
//! new version from the plugins folder without a restart, and the cycle
//! reports name the version that decided.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::retagged;

/// Kills the worker even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cam(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cam"));
    command
        .current_dir(dir)
        .env("CAM_CONFIG", dir.join("cam.toml"))
        .env_remove("RUST_LOG");
    command
}

/// The `decide` step's plugin versions in every stored cycle report.
async fn decide_versions(dir: &Path) -> Vec<String> {
    let url = format!("sqlite://{}", dir.join("cam.db").display());
    let store = cam::store::open(&url).await.expect("store");
    let reports = store.recent_cycle_reports("default", None, 100).await.expect("reports");
    let json = serde_json::to_string(&reports).expect("json");
    let mut versions = Vec::new();
    for part in json.split("guardrails@").skip(1) {
        versions.push(part.chars().take(12).collect());
    }
    versions
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_worker_swaps_in_a_new_decision_rule_without_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("setup");
    let out = cam(tmp.path())
        .args(["demo", "--dir"])
        .arg(&dir)
        .output()
        .expect("demo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plugins = dir.join("plugins");
    let old = std::fs::read(plugins.join("guardrails.wasm")).expect("guardrails installed by the demo");
    let old_version: String = cam::plugins::loaded::sha256_hex(&old).chars().take(12).collect();

    let mut worker = Running(
        cam(&dir)
            .args(["run", "--interval", "1", "--now", "2026-03-11T10:00:00Z"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker starts"),
    );
    let mut lines = BufReader::new(worker.0.stdout.take().expect("stdout")).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("worker output").expect("line");
        if line.contains("dach-saas-founders:") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no cycle within a minute");
    }
    assert!(decide_versions(&dir).await.contains(&old_version));

    // An operator drops a new version of the rule into the folder.
    let new = retagged(&old, "v2");
    let new_version: String = cam::plugins::loaded::sha256_hex(&new).chars().take(12).collect();
    let staging = plugins.join(".guardrails.wasm.tmp");
    std::fs::write(&staging, &new).expect("write");
    std::fs::rename(&staging, plugins.join("guardrails.wasm")).expect("rename into place");

    let deadline = Instant::now() + Duration::from_secs(60);
    while !decide_versions(&dir).await.contains(&new_version) {
        assert!(Instant::now() < deadline, "the worker never decided with {new_version}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worker.0.try_wait().expect("status").is_none(),
        "the worker kept running"
    );

    let history = cam(&dir)
        .args(["plugins", "history", "guardrails"])
        .output()
        .expect("history");
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(text.contains(&old_version) && text.contains(&new_version), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_rule_sees_the_real_cycle_inputs_is_diffed_and_promoted_without_being_applied() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("setup");
    let out = cam(tmp.path())
        .args(["demo", "--dir"])
        .arg(&dir)
        .output()
        .expect("demo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plugins = dir.join("plugins");

    // A stricter candidate: pause above 1% bounces (the demo campaign has 1 bounce in 58 sent, 1.7%).
    let candidate_dir = tmp.path().join("candidate");
    std::fs::create_dir_all(&candidate_dir).expect("mkdir");
    let wasm = retagged(&std::fs::read(plugins.join("guardrails.wasm")).expect("read"), "strict");
    std::fs::write(candidate_dir.join("guardrails.wasm"), &wasm).expect("write");
    let manifest = std::fs::read_to_string(plugins.join("guardrails.toml"))
        .expect("manifest")
        .replace("max_bounce_percent = 2.0", "max_bounce_percent = 1.0")
        .replace("min_sent_for_bounce = 50", "min_sent_for_bounce = 10");
    assert!(manifest.contains("max_bounce_percent = 1.0"), "{manifest}");
    std::fs::write(candidate_dir.join("guardrails.toml"), manifest).expect("write");

    let out = cam(&dir)
        .args(["plugins", "shadow"])
        .arg(candidate_dir.join("guardrails.wasm"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cam(&dir)
        .args([
            "cycle",
            "--campaign",
            "dach-saas-founders",
            "--now",
            "2026-03-11T10:00:00Z",
        ])
        .output()
        .expect("cycle runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let list = cam(&dir).args(["campaigns", "list"]).output().expect("list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("RUNNING"),
        "the candidate's pause was not applied: {list}"
    );

    let diff = cam(&dir)
        .args(["plugins", "diff", "guardrails"])
        .output()
        .expect("diff");
    let diff = String::from_utf8_lossy(&diff.stdout);
    assert!(diff.contains("Agreement: 0.0% (0 of 1 inputs)"), "{diff}");
    assert!(diff.contains("dach-saas-founders"), "names the input: {diff}");

    let out = cam(&dir)
        .args(["plugins", "promote", "guardrails"])
        .output()
        .expect("promote");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cam(&dir)
        .args([
            "cycle",
            "--campaign",
            "dach-saas-founders",
            "--now",
            "2026-03-11T11:00:00Z",
        ])
        .output()
        .expect("cycle runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = cam(&dir).args(["campaigns", "list"]).output().expect("list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("PAUSED") && list.contains("1%"),
        "the promoted rule decides now: {list}"
    );
}
