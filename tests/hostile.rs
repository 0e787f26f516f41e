//! Hostile plugins cost only their own call: the host keeps running, the
//! failure has the right kind, and the next call to a healthy plugin works.

use std::time::{Duration, Instant};

use cam::runtime::FailureKind;

use crate::support::{BuiltPlugin, lead, load, load_with_manifest, plugin, scope};

/// Calls a hostile scorer, asserts the failure kind, then proves a healthy
/// plugin still answers.
async fn assert_scorer_fails_with(hostile: BuiltPlugin, expected: FailureKind) -> String {
    let crate_name = hostile.crate_name;
    let plugin = load(hostile)
        .await
        .unwrap_or_else(|e| panic!("{crate_name} loads: {e}"));
    let started = Instant::now();
    let err = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect_err("hostile call must fail");
    assert_eq!(err.kind, expected, "{crate_name}: {err}");
    assert_eq!(err.plugin, crate_name);
    assert_eq!(err.version.len(), 12, "the error names the version: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{crate_name} took {:?}",
        started.elapsed()
    );
    healthy_plugin_still_answers().await;
    err.message
}

async fn healthy_plugin_still_answers() {
    let healthy = load(plugin::WEIGHTED_SCORE).await.expect("weighted_score loads");
    let scores = healthy
        .score(scope(), &[lead("ceo@acme.com", "CEO")])
        .await
        .expect("healthy call succeeds");
    assert_eq!(scores.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infinite_loop_times_out() {
    let message = assert_scorer_fails_with(plugin::HOSTILE_LOOP, FailureKind::Timeout).await;
    assert!(message.contains("deadline"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sleeping_past_the_deadline_times_out() {
    assert_scorer_fails_with(plugin::HOSTILE_SLEEP, FailureKind::Timeout).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_hits_the_memory_limit() {
    assert_scorer_fails_with(plugin::HOSTILE_MEMORY, FailureKind::MemoryLimit).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_recursion_is_a_stack_overflow() {
    assert_scorer_fails_with(plugin::HOSTILE_RECURSION, FailureKind::StackOverflow).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_a_trap_carrying_the_panic_message() {
    let message = assert_scorer_fails_with(plugin::HOSTILE_PANIC, FailureKind::Trap).await;
    assert!(message.contains("panicked"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_megabyte_result_is_output_too_large() {
    let message = assert_scorer_fails_with(plugin::HOSTILE_HUGE_OUTPUT, FailureKind::OutputTooLarge).await;
    assert!(message.contains("byte cap"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_flood_is_cut_off_and_the_call_still_answers() {
    let plugin = load(plugin::HOSTILE_LOG_FLOOD).await.expect("loads");
    let scores = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect("the flood is dropped, not fatal");
    assert_eq!(scores.len(), 1);
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_to_a_host_not_granted_is_an_error_value_not_a_trap() {
    let plugin = load(plugin::HOSTILE_HTTP).await.expect("loads");
    let scores = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect("a denied request is a value");
    let reasons = scores[0].reasons.join(" ");
    assert!(
        reasons.contains("forbidden.example") && reasons.contains("allow-list"),
        "{reasons}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_wasm_file_is_an_invalid_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read(crate::support::wasm_path(plugin::WEIGHTED_SCORE)).expect("read");
    let path = dir.path().join("weighted_score.wasm");
    std::fs::write(&path, &good[..good.len() / 2]).expect("write");
    std::fs::copy(
        crate::support::manifest_source(plugin::WEIGHTED_SCORE),
        dir.path().join("weighted_score.toml"),
    )
    .expect("copy");
    let err = cam::plugins::LoadedPlugin::load_file(crate::support::runtime(), &path, scope())
        .await
        .expect_err("a truncated file must not load");
    assert_eq!(err.kind, FailureKind::InvalidComponent, "{err}");
    assert!(err.message.contains("weighted_score.wasm"), "names the file: {err}");
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_for_another_world_is_a_wrong_world_error_that_says_which() {
    let err = load_with_manifest(plugin::WRONG_WORLD, "kind = \"scorer\"\n")
        .await
        .expect_err("must not load");
    assert_eq!(err.kind, FailureKind::WrongWorld, "{err}");
    assert!(err.message.contains("decision-rule"), "says what it is instead: {err}");
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_keeps_failing_is_quarantined_until_released() {
    let plugin = load_with_manifest(plugin::HOSTILE_PANIC, "kind = \"scorer\"\n")
        .await
        .expect("loads");
    let quarantine_after = plugin.identity().limits.quarantine_after;
    for _ in 0..quarantine_after {
        let err = plugin
            .score(scope(), &[lead("a@b.com", "CTO")])
            .await
            .expect_err("panics");
        assert_eq!(err.kind, FailureKind::Trap);
    }
    let err = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect_err("quarantined");
    assert_eq!(err.kind, FailureKind::Quarantined, "{err}");
    plugin.health().release();
    let err = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect_err("called again, panics again");
    assert_eq!(err.kind, FailureKind::Trap);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_needing_a_capability_its_manifest_does_not_grant_is_refused_at_load() {
    // hostile_log_flood says it needs `log`; without the grant it must not load.
    let err = load_with_manifest(plugin::HOSTILE_LOG_FLOOD, "kind = \"scorer\"\n")
        .await
        .expect_err("log not granted");
    assert_eq!(err.kind, FailureKind::CapabilityDenied, "{err}");
    assert!(
        err.message.contains("needs log") && err.message.contains("[capabilities]"),
        "{err}"
    );
}
