//! Hot reload latency (`cargo bench -p cam --bench reload`): from the moment
//! a new component has been written into a watched plugins folder to the
//! moment the registry serves it and it answers a call (`describe`).
//!
//! For each example plugin:
//! - **cold**: every write is a version never seen before (a custom section
//!   with a fresh tag changes its sha256), so it is compiled;
//! - **warm**: writes alternate between two versions already in the compile
//!   cache, so each swap deserializes instead of compiling.
//!
//! Each write is `std::fs::write` (truncate, write, close), what `cp` does.
//! Results go to stdout as a Markdown table (copied into docs/BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cam::plugins::PluginRegistry;
use cam::plugins::Reloader;
use cam::plugins::loaded::sha256_hex;
use cam::runtime::{Limits, Runtime};

/// The example plugins: (component stem, folder under plugins/examples).
const PLUGINS: [(&str, &str); 5] = [
    ("http_json", "http-json"),
    ("basic_enrich", "basic-enrich"),
    ("weighted_score", "weighted-score"),
    ("heuristic_replies", "heuristic-replies"),
    ("guardrails", "guardrails"),
];
const COLD_SWAPS: usize = 12;
const WARM_SWAPS: usize = 30;
/// Give up on a swap after this long (reported as a failure).
const SWAP_LIMIT: Duration = Duration::from_secs(10);

#[path = "../../tests/retag.rs"]
mod retag;
use retag::retagged;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Writes `wasm` over the plugin file and measures until it answers calls.
async fn swap(runtime: &Runtime, registry: &PluginRegistry, file: &Path, name: &str, wasm: &[u8]) -> Option<Duration> {
    let sha = sha256_hex(wasm);
    std::fs::write(file, wasm).ok()?;
    let written = Instant::now();
    while written.elapsed() < SWAP_LIMIT {
        if let Some(plugin) = registry.get(name).filter(|p| p.sha256() == sha) {
            plugin.describe(runtime.scope("bench", None)).await.ok()?;
            return Some(written.elapsed());
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    None
}

struct Row {
    plugin: &'static str,
    size_kib: usize,
    compile: Vec<Duration>,
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    failed: usize,
}

async fn bench_plugin(runtime: Arc<Runtime>, stem: &'static str, folder: &str) -> anyhow::Result<Row> {
    let built = PathBuf::from(env!("CAM_BUILT_PLUGINS_DIR")).join(format!("{stem}.wasm"));
    let manifest = PathBuf::from(env!("CAM_PLUGINS_SOURCE_DIR"))
        .join("examples")
        .join(folder)
        .join(format!("{stem}.toml"));
    let base = std::fs::read(&built)?;
    let dir = tempfile::tempdir()?;
    std::fs::copy(&manifest, dir.path().join(format!("{stem}.toml")))?;
    let file = dir.path().join(format!("{stem}.wasm"));
    std::fs::write(&file, &base)?;

    let registry = Arc::new(PluginRegistry::new());
    let reloader = Arc::new(Reloader::new(runtime.clone(), registry.clone(), dir.path(), "bench"));
    let failures = reloader.load_all().await?;
    anyhow::ensure!(failures.is_empty(), "{stem} does not load: {:?}", failures[0].error);
    let _watch = reloader.watch()?;
    let name = registry
        .list()
        .first()
        .map(|p| p.name().to_string())
        .unwrap_or_else(|| stem.to_string());

    let mut row = Row {
        plugin: stem,
        size_kib: base.len() / 1024,
        compile: Vec::new(),
        cold: Vec::new(),
        warm: Vec::new(),
        failed: 0,
    };
    let run = std::process::id();
    // The compile alone, for reference: what a cold swap cannot avoid.
    for i in 0..5 {
        let wasm = retagged(&base, &format!("compile-{run}-{i}"));
        let started = Instant::now();
        wasmtime::component::Component::new(runtime.engine(), &wasm).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        row.compile.push(started.elapsed());
    }
    for i in 0..COLD_SWAPS {
        let wasm = retagged(&base, &format!("cold-{run}-{i}"));
        match swap(&runtime, &registry, &file, &name, &wasm).await {
            Some(took) => row.cold.push(took),
            None => row.failed += 1,
        }
    }
    // Two versions compiled once (cached), then swapped back and forth.
    let warm = [
        retagged(&base, &format!("warm-a-{run}")),
        retagged(&base, &format!("warm-b-{run}")),
    ];
    for wasm in &warm {
        swap(&runtime, &registry, &file, &name, wasm).await;
    }
    for i in 0..WARM_SWAPS {
        match swap(&runtime, &registry, &file, &name, &warm[i % 2]).await {
            Some(took) => row.warm.push(took),
            None => row.failed += 1,
        }
    }
    Ok(row)
}

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let runtime = Arc::new(Runtime::new(Limits::default())?);
    println!("## Hot reload\n");
    println!(
        "From the end of `std::fs::write` of a new component into a watched plugins folder to the new version answering `describe`; {COLD_SWAPS} cold swaps (new sha256: compiled) and {WARM_SWAPS} warm swaps (compile cache hit) per plugin.\n"
    );
    println!("| plugin | size | compile alone p50 | cold p50 | cold p99 | warm p50 | warm p99 | failed |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (stem, folder) in PLUGINS {
        let mut row = tokio.block_on(bench_plugin(runtime.clone(), stem, folder))?;
        row.compile.sort();
        row.cold.sort();
        row.warm.sort();
        if row.cold.is_empty() || row.warm.is_empty() {
            println!(
                "| {} | {} KiB | - | - | - | - | - | {} |",
                row.plugin, row.size_kib, row.failed
            );
            continue;
        }
        println!(
            "| {} | {} KiB | {} ms | {} ms | {} ms | {} ms | {} ms | {} |",
            row.plugin,
            row.size_kib,
            ms(percentile(&row.compile, 0.5)),
            ms(percentile(&row.cold, 0.5)),
            ms(percentile(&row.cold, 0.99)),
            ms(percentile(&row.warm, 0.5)),
            ms(percentile(&row.warm, 0.99)),
            row.failed
        );
    }
    Ok(())
}
