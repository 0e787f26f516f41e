//! Fuzzes the plugin load path (issue #15): random and mutated components fed
//! to `LoadedPlugin::load` (compile, world check, the `describe` smoke call)
//! and, when one loads, to its kind's main call with a small sample, all
//! under cam's default `Limits`, for a bounded time.
//!
//! ```text
//! cargo run --example fuzz_plugins -- --seconds 600 [--seed N]
//! cargo run --example fuzz_plugins -- --replay tests/data/fuzz-crashers/*.wasm
//! ```
//!
//! (`scripts/fuzz-plugins.sh [SECONDS]` builds and runs it.)
//!
//! The property: a load or call never panics, never runs past its deadline
//! (the call's timeout twice, plus time to compile), never aborts the
//! process, and a refusal's message is the host's text (no control
//! characters, bounded in length). Any `Err` is fine. On a violation the
//! input is written to `tests/data/fuzz-crashers/<sha256 prefix>.wasm` and
//! the run exits 3, naming the seed and iteration.
//!
//! Each iteration draws one input from one of these generators:
//!
//! - `world`: a wasm-smith core module with exactly the imports and exports
//!   a component of one of cam's worlds has (from wit-component's dummy
//!   module of `wit/`), random function bodies, made a component by
//!   wit-component: it passes the world check, so `describe` runs random
//!   code and cam lifts whatever it returns;
//! - `wrong-world`: the same for a world other than the manifest's kind;
//! - `smith-module`: any wasm-smith core module (sometimes with a random
//!   wasm-smith configuration), wrapped in a component that instantiates it;
//! - `smith-component`: wasm-smith's own random component;
//! - `mutant`: one of the built example plugins with byte flips, a
//!   truncation, a splice from another plugin, inserted or removed bytes,
//!   loaded with its own manifest;
//! - `random`: random bytes, half of them behind a component header.
//!
//! The same seed gives the same inputs in the same order. The process is a
//! supervisor that runs itself as a worker (`--worker`): the worker writes
//! each input to a file before it tries it, so an input that aborts the
//! process (which no `catch_unwind` sees) is still saved by the supervisor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use cam::plugins::{LoadedPlugin, Manifest, PluginKind};
use cam::runtime::bindings::types::{
    Attribute, CampaignMetrics, CampaignSnapshot, CampaignStatus, InboundReply, Lead, LeadState, StateCount,
};
use cam::runtime::guest_text::needs_escaping;
use cam::runtime::{Limits, PluginError, Runtime};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve, WorldId};

/// Exit code of a worker (and the run) that found a violation and saved it.
const VIOLATION_EXIT: u8 = 3;
/// Time a load may take to compile, beyond the calls' own deadlines, before
/// it counts as a hang (generous: two cores, another build may be running).
const COMPILE_ALLOWANCE: Duration = Duration::from_secs(30);
/// Longest refusal message that is still a message and not a dump.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Built plugins used as seeds for mutation: those whose calls are quick
/// and need no network (the hostile loop, sleep and floods only slow the
/// run down: their failures are tested in `tests/hostile.rs`).
const MUTATION_SEEDS: &[&str] = &[
    "weighted_score",
    "basic_enrich",
    "guardrails",
    "heuristic_replies",
    "http_json",
    "kv_counter",
    "wasi_probe",
    "wrong_world",
    "hostile_panic",
    "hostile_bad_output",
];

/// Command-line options.
#[derive(Debug, Clone)]
struct Args {
    seconds: u64,
    seed: u64,
    worker: bool,
    verbose: bool,
    save_iteration: Option<u64>,
    in_flight: Option<PathBuf>,
    replay: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: std::env::var("CAM_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
        seed: std::env::var("CAM_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| rand::thread_rng().next_u64()),
        worker: false,
        verbose: false,
        save_iteration: None,
        in_flight: None,
        replay: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => args.seconds = value("--seconds")?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--seed" => args.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--worker" => args.worker = true,
            "--verbose" => args.verbose = true,
            "--save-iteration" => {
                args.save_iteration = Some(
                    value("--save-iteration")?
                        .parse()
                        .map_err(|e| format!("--save-iteration: {e}"))?,
                );
            }
            "--in-flight" => args.in_flight = Some(PathBuf::from(value("--in-flight")?)),
            "--replay" => args.replay.extend(it.by_ref().map(PathBuf::from)),
            "-h" | "--help" => {
                return Err(
                    "usage: fuzz_plugins [--seconds N] [--seed N] [--verbose] [--save-iteration N] | --replay FILE..."
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if args.worker || !args.replay.is_empty() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio starts");
        return runtime.block_on(async {
            if args.replay.is_empty() {
                worker(&args).await
            } else {
                replay(&args.replay).await
            }
        });
    }
    supervise(&args)
}

/// Runs the worker and saves its in-flight input if it dies without a word.
fn supervise(args: &Args) -> ExitCode {
    let in_flight = std::env::temp_dir().join(format!("cam-fuzz-in-flight-{}.wasm", std::process::id()));
    println!("fuzz_plugins: seed {} for {} s", args.seed, args.seconds);
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--worker", "--seconds", &args.seconds.to_string(), "--seed"])
        .arg(args.seed.to_string())
        .args(args.verbose.then_some("--verbose"))
        .args(
            args.save_iteration
                .into_iter()
                .flat_map(|n| ["--save-iteration".to_string(), n.to_string()]),
        )
        .arg("--in-flight")
        .arg(&in_flight)
        .status()
        .expect("the worker starts");
    let code = match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) if code == i32::from(VIOLATION_EXIT) => ExitCode::from(VIOLATION_EXIT),
        _ => {
            // Killed by a signal (an abort, a segfault) or an exit the worker
            // does not make itself (a panic on its own thread).
            match std::fs::read(&in_flight) {
                Ok(bytes) => {
                    let path = save_crasher(&bytes);
                    eprintln!(
                        "VIOLATION: the worker died ({status}) on the input saved to {}; seed {}",
                        path.display(),
                        args.seed
                    );
                }
                Err(e) => eprintln!("VIOLATION: the worker died ({status}) and its input is lost: {e}"),
            }
            ExitCode::from(VIOLATION_EXIT)
        }
    };
    let _ = std::fs::remove_file(&in_flight);
    code
}

/// Where crashers are kept: `tests/data/fuzz-crashers/` of the repository.
fn crashers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/fuzz-crashers")
}

/// Writes `bytes` to the crashers folder under its sha256 prefix.
fn save_crasher(bytes: &[u8]) -> PathBuf {
    let dir = crashers_dir();
    std::fs::create_dir_all(&dir).expect("create the crashers folder");
    let path = dir.join(format!("{}.wasm", &cam::plugins::loaded::sha256_hex(bytes)[..16]));
    std::fs::write(&path, bytes).expect("write the crasher");
    path
}

/// One input and how to load it.
struct Input {
    source: &'static str,
    bytes: Vec<u8>,
    manifest: String,
}

/// What one load (and call) came to.
#[derive(Debug)]
enum Outcome {
    Refused(PluginError),
    /// Loaded; the main call's result (`None` when not called).
    Loaded(Option<Result<(), PluginError>>),
}

/// A broken property.
#[derive(Debug)]
struct Violation {
    what: String,
}

async fn worker(args: &Args) -> ExitCode {
    let runtime: &'static Runtime = Box::leak(Box::new(Runtime::new(Limits::default()).expect("runtime starts")));
    let generators = Generators::new();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let started = Instant::now();
    let budget = Duration::from_secs(args.seconds);
    let hang_after = runtime.limits().timeout * 2 + COMPILE_ALLOWANCE;
    let mut tally = Tally::default();
    let mut iteration: u64 = 0;
    let mut last_report = Instant::now();
    while started.elapsed() < budget {
        iteration += 1;
        let Some(input) = generators.next(&mut rng, &mut tally) else {
            continue;
        };
        if let Some(path) = &args.in_flight {
            std::fs::write(path, &input.bytes).expect("write the in-flight input");
        }
        if Some(iteration) == args.save_iteration {
            // Keeping an interesting input as a regression case (`--verbose` shows which).
            let path = save_crasher(&input.bytes);
            println!(
                "iteration {iteration} ({} input) saved to {}",
                input.source,
                path.display()
            );
            return ExitCode::SUCCESS;
        }
        *tally.sources.entry(input.source).or_default() += 1;
        let bytes = input.bytes.clone();
        let result = check(runtime, input.bytes, input.manifest, hang_after).await;
        match result {
            Ok(outcome) => {
                if args.verbose {
                    // What each input came to, one line each (for tuning the generators).
                    let said = match &outcome {
                        Outcome::Refused(e) => format!("refused: {}: {}", e.kind, e.message),
                        Outcome::Loaded(call) => format!("loaded; main call: {call:?}"),
                    };
                    println!(
                        "{iteration} {}: {}",
                        input.source,
                        said.chars().take(300).collect::<String>()
                    );
                }
                tally.record(&outcome)
            }
            Err(violation) => {
                let path = save_crasher(&bytes);
                eprintln!(
                    "VIOLATION ({} input, iteration {iteration}): {}\n  input saved to {}\n  reproduce: --seed {} (iteration {iteration}) or --replay {}",
                    input.source,
                    violation.what,
                    path.display(),
                    args.seed,
                    path.display()
                );
                tally.print(iteration, started.elapsed());
                // A hung task may still hold a thread: leave without waiting for it.
                std::process::exit(i32::from(VIOLATION_EXIT));
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            println!(
                "  … {iteration} iterations, {} loaded, {:.0} s",
                tally.loaded,
                started.elapsed().as_secs_f64()
            );
        }
    }
    tally.print(iteration, started.elapsed());
    ExitCode::SUCCESS
}

/// Loads each file with each kind's manifest (every capability but http granted).
async fn replay(files: &[PathBuf]) -> ExitCode {
    let runtime: &'static Runtime = Box::leak(Box::new(Runtime::new(Limits::default()).expect("runtime starts")));
    let hang_after = runtime.limits().timeout * 2 + COMPILE_ALLOWANCE;
    let mut failed = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        for kind in PluginKind::ALL {
            let manifest = manifest_text(kind, true);
            match check(runtime, bytes.clone(), manifest, hang_after).await {
                Ok(Outcome::Refused(e)) => println!("{} as {kind}: refused: {e}", file.display()),
                Ok(Outcome::Loaded(call)) => println!("{} as {kind}: loaded; main call: {call:?}", file.display()),
                Err(v) => {
                    println!("{} as {kind}: VIOLATION: {}", file.display(), v.what);
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::from(VIOLATION_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

/// Loads `bytes` with `manifest` and, if it loads, calls its main function,
/// on a task of its own: a panic or a hang is a violation, any `Err` is fine.
async fn check(
    runtime: &'static Runtime,
    bytes: Vec<u8>,
    manifest: String,
    hang_after: Duration,
) -> Result<Outcome, Violation> {
    let task = tokio::spawn(async move {
        let manifest = Manifest::parse(&manifest, Path::new("fuzz.toml"))
            .unwrap_or_else(|e| panic!("the fuzzer's manifest parses: {e}\n{manifest}"));
        let calls_http = manifest.capabilities.http.is_some();
        let scope = || runtime.scope("fuzz", None);
        let plugin = match LoadedPlugin::load(runtime, &bytes, manifest, "fuzz", "fuzz.wasm", scope()).await {
            Ok(plugin) => plugin,
            Err(e) => return Outcome::Refused(e),
        };
        if calls_http {
            // No network here: a call would only wait for it.
            return Outcome::Loaded(None);
        }
        Outcome::Loaded(Some(call_main(&plugin, scope()).await))
    });
    let outcome = match tokio::time::timeout(hang_after, task).await {
        Err(_) => {
            return Err(Violation {
                what: format!("no answer after {} s", hang_after.as_secs()),
            });
        }
        Ok(Err(join)) => {
            let what = match join.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic without a message".into()),
                Err(join) => join.to_string(),
            };
            return Err(Violation {
                what: format!("panicked: {what}"),
            });
        }
        Ok(Ok(outcome)) => outcome,
    };
    let error = match &outcome {
        Outcome::Refused(e) | Outcome::Loaded(Some(Err(e))) => Some(e),
        Outcome::Loaded(_) => None,
    };
    if let Some(e) = error {
        if needs_escaping(&e.message) {
            return Err(Violation {
                what: format!("a {} message with control characters: {:?}", e.kind, e.message),
            });
        }
        if e.message.len() > MAX_MESSAGE_BYTES {
            return Err(Violation {
                what: format!(
                    "a {} message of {} bytes: {:?}…",
                    e.kind,
                    e.message.len(),
                    e.message.chars().take(300).collect::<String>()
                ),
            });
        }
    }
    Ok(outcome)
}

/// The kind's main call with a one-item sample.
async fn call_main(plugin: &LoadedPlugin, scope: cam::runtime::CallScope) -> Result<(), PluginError> {
    match plugin.kind() {
        PluginKind::LeadSource => plugin.next_page(scope, None, 10).await.map(drop),
        PluginKind::Enricher => plugin.enrich(scope, &[sample_lead()]).await.map(drop),
        PluginKind::Scorer => plugin.score(scope, &[sample_lead()]).await.map(drop),
        PluginKind::ReplyClassifier => plugin.classify(scope, &sample_reply()).await.map(drop),
        PluginKind::DecisionRule => plugin.decide(scope, &sample_snapshot()).await.map(drop),
    }
}

fn sample_lead() -> Lead {
    Lead {
        email: "ada@analytical-engines.de".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        company: "Analytical Engines".into(),
        domain: "analytical-engines.de".into(),
        title: "CTO".into(),
        country: "DE".into(),
        timezone: "Europe/Berlin".into(),
        employees: Some(120),
        attributes: vec![Attribute {
            key: "hiring".into(),
            value: "true".into(),
        }],
    }
}

fn sample_reply() -> InboundReply {
    InboundReply {
        from: "ada@analytical-engines.de".into(),
        subject: "Re: hello".into(),
        body: "Sounds good, call me on Tuesday.".into(),
        headers: vec![],
        lead: Some(sample_lead()),
        received_at: 1_767_225_600,
    }
}

fn sample_snapshot() -> CampaignSnapshot {
    CampaignSnapshot {
        campaign: "fuzz".into(),
        status: CampaignStatus::Running,
        goal: 10,
        daily_cap: 50,
        started_at: 1_767_225_600,
        now: 1_769_904_000,
        metrics: CampaignMetrics {
            sent: 400,
            replied: 30,
            positive: 6,
            negative: 12,
            bounced: 14,
            unsubscribed: 3,
            complaints: 0,
            qualified: 2,
        },
        leads_by_state: vec![StateCount {
            state: LeadState::New,
            count: 120,
        }],
    }
}

/// A manifest for `kind`: with `grants`, every capability but http.
fn manifest_text(kind: PluginKind, grants: bool) -> String {
    let mut text = format!("kind = \"{kind}\"\n");
    if grants {
        text.push_str("[capabilities]\nlog = true\nconfig = true\nkv = { quota_bytes = 4096 }\nclock = true\n");
        text.push_str("[config]\nkey = \"value\"\n");
    }
    text
}

/// Counts of what happened, printed at the end.
#[derive(Default)]
struct Tally {
    sources: BTreeMap<&'static str, u64>,
    generator_failed: BTreeMap<&'static str, u64>,
    loaded: u64,
    refused: BTreeMap<&'static str, u64>,
    calls: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Refused(e) => *self.refused.entry(e.kind.as_str()).or_default() += 1,
            Outcome::Loaded(call) => {
                self.loaded += 1;
                let key = match call {
                    None => "not called (http)",
                    Some(Ok(())) => "ok",
                    Some(Err(e)) => e.kind.as_str(),
                };
                *self.calls.entry(key).or_default() += 1;
            }
        }
    }

    fn print(&self, iterations: u64, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        println!("fuzz_plugins summary");
        println!(
            "  {iterations} iterations in {seconds:.0} s ({:.1}/s)",
            iterations as f64 / seconds.max(0.001)
        );
        println!("  inputs by generator: {}", list(&self.sources));
        if !self.generator_failed.is_empty() {
            println!("  generator gave up: {}", list(&self.generator_failed));
        }
        println!("  loaded: {}", self.loaded);
        println!("  refused: {}", list(&self.refused));
        println!("  main call after a load: {}", list(&self.calls));
    }
}

fn list<K: std::fmt::Display>(counts: &BTreeMap<K, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The generators' fixed material: cam's worlds and the built plugins.
struct Generators {
    resolve: Resolve,
    worlds: Vec<(PluginKind, WorldId, Vec<u8>)>,
    seeds: Vec<(Vec<u8>, String)>,
}

impl Generators {
    fn new() -> Generators {
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut resolve = Resolve::default();
        let (package, _) = resolve.push_dir(&wit).expect("cam's WIT parses");
        let worlds = PluginKind::ALL
            .into_iter()
            .map(|kind| {
                let world = resolve
                    .select_world(&[package], Some(kind.as_str()))
                    .expect("every kind has a world");
                let dummy = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
                (kind, world, dummy)
            })
            .collect();
        let built = Path::new(env!("CAM_BUILT_PLUGINS_DIR"));
        let sources = Path::new(env!("CAM_PLUGINS_SOURCE_DIR"));
        let seeds = MUTATION_SEEDS
            .iter()
            .map(|name| {
                let wasm = std::fs::read(built.join(format!("{name}.wasm")))
                    .unwrap_or_else(|e| panic!("{name}.wasm is built (cargo build first): {e}"));
                let folder = name.replace('_', "-");
                let manifest = ["examples", "hostile", "testing"]
                    .iter()
                    .map(|group| sources.join(group).join(&folder).join(format!("{name}.toml")))
                    .find(|path| path.exists())
                    .unwrap_or_else(|| panic!("no manifest for {name}"));
                (wasm, std::fs::read_to_string(manifest).expect("read the manifest"))
            })
            .collect();
        Generators { resolve, worlds, seeds }
    }

    /// The next input, or `None` when the generator gave up on its random
    /// data (counted in the tally).
    fn next(&self, rng: &mut StdRng, tally: &mut Tally) -> Option<Input> {
        let mut data = vec![0u8; rng.gen_range(64..16 * 1024)];
        rng.fill_bytes(&mut data);
        let pick = rng.gen_range(0..100);
        let (source, made) = match pick {
            0..35 => ("world", self.world(rng, &data, false)),
            35..45 => ("wrong-world", self.world(rng, &data, true)),
            45..55 => ("smith-module", smith_module(rng, &data)),
            55..60 => ("smith-component", smith_component(&data)),
            60..90 => ("mutant", Some(self.mutant(rng))),
            _ => ("random", Some(random_bytes(rng, data))),
        };
        if made.is_none() {
            *tally.generator_failed.entry(source).or_default() += 1;
        }
        made.map(|(bytes, manifest)| Input {
            source,
            bytes,
            manifest,
        })
    }

    /// A component of a random cam world whose core module wasm-smith
    /// wrote; with `wrong`, loaded as another kind.
    fn world(&self, rng: &mut StdRng, data: &[u8], wrong: bool) -> Option<(Vec<u8>, String)> {
        let (kind, world, dummy) = &self.worlds[rng.gen_range(0..self.worlds.len())];
        let mut u = Unstructured::new(data);
        let config = wasm_smith::Config {
            exports: Some(dummy.clone()),
            available_imports: Some(dummy.clone()),
            disallow_traps: rng.gen_bool(0.5),
            // The exported memory is the one: cam allows one per core instance.
            max_memories: 0,
            ..conservative_config()
        };
        let bytes = generate_quietly(|| {
            let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
            // Mostly with fuel, so describe ends before the deadline; a few
            // without, to reach the deadline too.
            if rng.gen_bool(0.98) {
                module.ensure_termination(10_000).ok()?;
            }
            Some(module.to_bytes())
        })?;
        let mut bytes = bytes;
        wit_component::embed_component_metadata(&mut bytes, &self.resolve, *world, wit_component::StringEncoding::UTF8)
            .ok()?;
        let component = wit_component::ComponentEncoder::default()
            .module(&bytes)
            .ok()?
            .validate(true)
            .encode()
            .ok()?;
        let manifest_kind = if wrong {
            let others: Vec<PluginKind> = PluginKind::ALL.into_iter().filter(|k| k != kind).collect();
            others[rng.gen_range(0..others.len())]
        } else {
            *kind
        };
        Some((component, manifest_text(manifest_kind, rng.gen_bool(0.8))))
    }

    /// A built plugin with a few random changes, with its own manifest.
    fn mutant(&self, rng: &mut StdRng) -> (Vec<u8>, String) {
        let (seed, manifest) = &self.seeds[rng.gen_range(0..self.seeds.len())];
        let mut bytes = seed.clone();
        for _ in 0..rng.gen_range(1..=4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..6) {
                0 => {
                    for _ in 0..rng.gen_range(1..=8) {
                        let i = rng.gen_range(0..bytes.len());
                        bytes[i] ^= 1 << rng.gen_range(0..8);
                    }
                }
                1 => bytes[at] = rng.r#gen(),
                2 => bytes.truncate(at),
                3 => {
                    // Splice a run of another plugin's bytes over ours.
                    let (other, _) = &self.seeds[rng.gen_range(0..self.seeds.len())];
                    let from = rng.gen_range(0..other.len());
                    let len = rng.gen_range(1..=256).min(other.len() - from).min(bytes.len() - at);
                    bytes[at..at + len].copy_from_slice(&other[from..from + len]);
                }
                4 => {
                    let mut insert = vec![0u8; rng.gen_range(1..=16)];
                    rng.fill_bytes(&mut insert);
                    bytes.splice(at..at, insert);
                }
                _ => {
                    let end = (at + rng.gen_range(1..=64)).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
        }
        (bytes, manifest.clone())
    }
}

/// Core wasm features wasmtime compiles as cam configures it: no GC (so no
/// reference types either: externref needs it), exceptions, threads or
/// 64-bit memories; one memory per core instance, as cam's pool allows.
fn conservative_config() -> wasm_smith::Config {
    wasm_smith::Config {
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        memory64_enabled: false,
        // externref needs wasmtime's GC, which cam's engine is built without.
        reference_types_enabled: false,
        max_memories: 1,
        // Mostly memories a call's budget allows (a larger one is refused
        // at load, also tested now and then through the arbitrary configs).
        max_memory32_bytes: 16 << 20,
        max_tables: 2,
        ..wasm_smith::Config::default()
    }
}

/// Runs a generator, turning a panic inside it (a generator's own bug, not
/// cam's) into `None`.
fn generate_quietly<T>(make: impl FnOnce() -> Option<T>) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(make))
        .ok()
        .flatten()
}

/// A wasm-smith core module without imports, instantiated by a component
/// that exports nothing: compiled like any plugin, then the world check
/// refuses it.
fn smith_module(rng: &mut StdRng, data: &[u8]) -> Option<(Vec<u8>, String)> {
    let mut u = Unstructured::new(data);
    let config = if rng.gen_bool(0.3) {
        // Any configuration: proposals cam's engine refuses included.
        let mut config: wasm_smith::Config = u.arbitrary().ok()?;
        config.max_imports = 0;
        config.min_imports = 0;
        config
    } else {
        wasm_smith::Config {
            max_imports: 0,
            ..conservative_config()
        }
    };
    let module = generate_quietly(|| {
        let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
        module.ensure_termination(10_000).ok()?;
        Some(module.to_bytes())
    })?;
    let mut component = wasm_encoder::Component::new();
    component.section(&wasm_encoder::RawSection {
        id: wasm_encoder::ComponentSectionId::CoreModule as u8,
        data: &module,
    });
    let mut instances = wasm_encoder::InstanceSection::new();
    instances.instantiate(0, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
    component.section(&instances);
    let kind = PluginKind::ALL[rng.gen_range(0..PluginKind::ALL.len())];
    Some((component.finish(), manifest_text(kind, true)))
}

/// wasm-smith's own random component (its component generator is
/// experimental: many are refused, which is fine).
fn smith_component(data: &[u8]) -> Option<(Vec<u8>, String)> {
    let mut u = Unstructured::new(data);
    let config = wasm_smith::Config {
        max_imports: 0,
        ..conservative_config()
    };
    let bytes = generate_quietly(|| Some(wasm_smith::Component::new(config, &mut u).ok()?.to_bytes()))?;
    Some((bytes, manifest_text(PluginKind::Scorer, true)))
}

/// Random bytes, half of the time behind a component's header.
fn random_bytes(rng: &mut StdRng, mut data: Vec<u8>) -> (Vec<u8>, String) {
    if rng.gen_bool(0.5) {
        data.splice(0..0, *b"\0asm\x0d\0\x01\0");
    }
    let kind = PluginKind::ALL[rng.gen_range(0..PluginKind::ALL.len())];
    (data, manifest_text(kind, true))
}
