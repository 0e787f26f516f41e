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

/// A reply whose subject tells `hostile_bad_output` what to return.
fn reply(subject: &str) -> cam::runtime::bindings::types::InboundReply {
    cam::runtime::bindings::types::InboundReply {
        from: "prospect@acme.com".into(),
        subject: subject.into(),
        body: "hello".into(),
        headers: vec![],
        lead: None,
        received_at: 1_772_323_200,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_breaking_the_contract_is_a_plugin_error_naming_the_field() {
    let plugin = load(plugin::HOSTILE_BAD_OUTPUT).await.expect("loads");
    let cases = [
        ("nan", "classify.confidence", "NaN"),
        ("infinity", "classify.confidence", "inf"),
        ("negative", "classify.confidence", "outside 0..=1"),
        (
            "bad-referral",
            "classify.label.referral.email",
            "not a valid email address",
        ),
        (
            "bad-date",
            "classify.label.out-of-office",
            "2026-02-30, not a calendar date",
        ),
        ("nul", "classify.reason", "NUL"),
    ];
    for (subject, field, says) in cases {
        let err = plugin
            .classify(scope(), &reply(subject))
            .await
            .expect_err("an invalid output is refused");
        assert_eq!(err.kind, FailureKind::PluginError, "{subject}: {err}");
        assert_eq!(err.field.as_deref(), Some(field), "{subject}: {err}");
        assert!(
            err.message.contains(&format!("`{field}`")) && err.message.contains(says),
            "{subject}: {err}"
        );
        // The next call to the same plugin is served.
        let label = plugin
            .classify(scope(), &reply("fine"))
            .await
            .expect("a well-formed answer is taken");
        assert_eq!(label.confidence, 0.5);
    }
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_panic_on_stderr_stays_a_labelled_escaped_field_of_the_hosts_message() {
    let message = assert_scorer_fails_with(plugin::HOSTILE_FAKE_PANIC, FailureKind::Trap).await;
    let (host, plugin_says) = message
        .split_once("; plugin stderr: ")
        .unwrap_or_else(|| panic!("the plugin's words are labelled: {message}"));
    assert_eq!(
        host,
        "trap in `score`: wasm trap: wasm `unreachable` instruction executed"
    );
    assert!(plugin_says.contains("released from quarantine"), "{message}");
    assert!(!message.chars().any(char::is_control), "escaped: {message:?}");
    assert!(message.contains("\\u{1b}[2K\\r"), "{message}");
    let err = load(plugin::HOSTILE_FAKE_PANIC)
        .await
        .expect("loads")
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect_err("traps");
    assert_eq!(err.plugin_stderr.as_deref(), Some(plugin_says));
}

/// A scorer written by hand as a component: its main module and `hogs` more
/// core instances, each with a linear memory of its own. `describe` answers
/// from static data; `score` grows its own memory and then every hog's by
/// `grow_pages` (64 KiB each), trapping if a growth is refused, then traps
/// anyway (a hog has nothing to score).
fn many_memories_scorer(hogs: usize, grow_pages: u32) -> Vec<u8> {
    let imports: String = (0..hogs)
        .map(|i| format!("(import \"hog{i}\" \"grow\" (func $grow{i} (param i32)))\n"))
        .collect();
    let grows: String = (0..hogs)
        .map(|i| format!("(call $grow{i} (i32.const {grow_pages}))\n"))
        .collect();
    let instances: String = (0..hogs)
        .map(|i| format!("(core instance $h{i} (instantiate $hog))\n"))
        .collect();
    let with: String = (0..hogs)
        .map(|i| format!("(with \"hog{i}\" (instance $h{i})) "))
        .collect();
    let wat = format!(
        r#"(component
  (core module $hog
    (memory 1)
    (func (export "grow") (param i32)
      (if (i32.eq (memory.grow (local.get 0)) (i32.const -1)) (then unreachable))))
  (core module $main
    {imports}
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 4096))
    ;; plugin-info at 0: name, version, description (pointer, length), needs (empty)
    (data (i32.const 0) "\40\00\00\00\0d\00\00\00\4d\00\00\00\05\00\00\00\52\00\00\00\03\00\00\00\00\00\00\00\00\00\00\00")
    (data (i32.const 64) "many-memories0.1.0hog")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
      (global.set $next (i32.add (local.get $at) (local.get 3)))
      (local.get $at))
    (func (export "describe") (result i32) (i32.const 0))
    (func (export "score") (param i32 i32) (result i32)
      (if (i32.eq (memory.grow (i32.const {grow_pages})) (i32.const -1)) (then unreachable))
      {grows}
      unreachable))
  {instances}
  (core instance $m (instantiate $main {with}))
  (type $capability (enum "log" "config" "kv" "http" "clock"))
  (export $capability-e "capability" (type $capability))
  (type $plugin-info (record (field "name" string) (field "version" string) (field "description" string) (field "needs" (list $capability-e))))
  (export $plugin-info-e "plugin-info" (type $plugin-info))
  (type $attribute (record (field "key" string) (field "value" string)))
  (export $attribute-e "attribute" (type $attribute))
  (type $lead (record
    (field "email" string) (field "first-name" string) (field "last-name" string)
    (field "company" string) (field "domain" string) (field "title" string)
    (field "country" string) (field "timezone" string)
    (field "employees" (option u32)) (field "attributes" (list $attribute-e))))
  (export $lead-e "lead" (type $lead))
  (type $score (record (field "value" f32) (field "reasons" (list string))))
  (export $score-e "score-record" (type $score))
  (func (export "describe") (result $plugin-info-e)
    (canon lift (core func $m "describe") (memory $m "memory") (realloc (func $m "realloc"))))
  (func (export "score") (param "leads" (list $lead-e)) (result (result (list $score-e) (error string)))
    (canon lift (core func $m "score") (memory $m "memory") (realloc (func $m "realloc"))))
)"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("the test component assembles: {e}\n{wat}"))
}

/// Loads a hand-written scorer component with `manifest`.
async fn load_component(
    name: &str,
    bytes: &[u8],
    manifest: &str,
) -> Result<cam::plugins::LoadedPlugin, cam::runtime::PluginError> {
    let manifest = cam::plugins::Manifest::parse(manifest, std::path::Path::new("test.toml")).expect("manifest parses");
    cam::plugins::LoadedPlugin::load(crate::support::runtime(), bytes, manifest, name, name, scope()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn memories_of_one_call_share_one_budget() {
    // Two memories (the main module's and one hog's) of 1 page each; score
    // grows each by 5 MiB. Each would fit under a cap of 8 MiB per memory;
    // together they are over the call's budget of 8 MiB, and the second
    // growth is refused.
    let manifest = "kind = \"scorer\"\n[limits]\nmemory_mib = 8\n";
    let plugin = load_component("many_memories", &many_memories_scorer(1, 80), manifest)
        .await
        .expect("two memories load; describe needs none of the hog's pages");
    let err = plugin
        .score(scope(), &[lead("a@b.com", "CTO")])
        .await
        .expect_err("the hog's growth is over the call's budget");
    assert_eq!(err.kind, FailureKind::MemoryLimit, "{err}");
    assert!(err.message.contains("budget of 8 MiB"), "{err}");
    // The same plugin is served again (describe), and so is a healthy one.
    plugin.describe(scope()).await.expect("the next call is served");
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_with_more_memories_than_cam_allows_is_refused_at_load() {
    let hogs = cam::runtime::wasm_limits::MAX_MEMORIES_PER_COMPONENT as usize;
    let err = load_component("many_memories", &many_memories_scorer(hogs, 1), "kind = \"scorer\"\n")
        .await
        .expect_err("one memory too many");
    assert_eq!(err.kind, FailureKind::InvalidComponent, "{err}");
    // wasmtime refuses it when compiling for the pool, in words that say why.
    assert!(
        err.message.contains(&format!(
            "{} Wasm linear memories, which exceeds the configured maximum of {hogs}",
            hogs + 1
        )),
        "{err}"
    );
    healthy_plugin_still_answers().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_clocks_and_random_follow_the_cycle_so_a_replay_gives_the_same_output() {
    let plugin = load(plugin::WASI_PROBE).await.expect("loads without any grant");
    // 2026-01-01T00:00:00Z, as `cam cycle --now` sets it (pipeline/env.rs).
    let cycle_ms: i64 = 1_767_225_600_000;
    let at = |now_ms| {
        let mut scope = scope();
        scope.now_ms = now_ms;
        scope
    };
    let leads = [lead("a@b.com", "CTO")];
    let first = plugin.score(at(cycle_ms), &leads).await.expect("scores");
    let replay = plugin.score(at(cycle_ms), &leads).await.expect("scores");
    assert_eq!(
        first[0].reasons, replay[0].reasons,
        "the same cycle time gives the same clocks and random"
    );
    let reasons = &first[0].reasons;
    let wall: u128 = reasons[0]
        .strip_prefix("wall=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{reasons:?}"));
    let cycle_ns = cycle_ms as u128 * 1_000_000;
    assert!(
        (cycle_ns..cycle_ns + 1_000_000).contains(&wall),
        "the wall clock is the cycle's, not the machine's: {reasons:?}"
    );
    let next_cycle = plugin.score(at(cycle_ms + 60_000), &leads).await.expect("scores");
    assert_ne!(next_cycle[0].reasons[0], reasons[0], "another cycle, another time");
    assert_ne!(
        next_cycle[0].reasons[2], reasons[2],
        "another cycle, another random seed"
    );
}

/// Every input the plugin fuzzer kept (`tests/data/fuzz-crashers/`, see its
/// README): crashers it found and seeds, each loaded as every kind. Each one
/// loads or is refused with a typed error whose message is one line of host
/// text; none panics or hangs, and a healthy plugin answers afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn fuzz_crashers_and_seeds_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/fuzz-crashers");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the crashers folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the seeds are there: {files:?}");
    let manifest = |kind: cam::plugins::PluginKind| {
        format!(
            "kind = \"{kind}\"\n[capabilities]\nlog = true\nconfig = true\nkv = {{ quota_bytes = 4096 }}\nclock = true\n"
        )
    };
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        let name = file.file_stem().and_then(|s| s.to_str()).expect("a name");
        for kind in cam::plugins::PluginKind::ALL {
            let started = Instant::now();
            match load_component(name, &bytes, &manifest(kind)).await {
                Ok(plugin) => {
                    plugin.describe(scope()).await.ok();
                }
                Err(err) => {
                    assert!(
                        !cam::runtime::guest_text::needs_escaping(&err.message),
                        "{name} as {kind}: one escaped line: {:?}",
                        err.message
                    );
                    assert!(err.message.len() < 4096, "{name} as {kind}: {}", err.message.len());
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} as {kind} took {:?}",
                started.elapsed()
            );
        }
    }
    healthy_plugin_still_answers().await;
}
