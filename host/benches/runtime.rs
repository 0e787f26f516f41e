//! Plugin runtime benchmarks (`cargo bench --bench runtime`).
//!
//! Every number is reported with a baseline measured in the same run:
//! 1. batch scoring: the weighted-score rules as a native Rust function vs the
//!    same rules in the `weighted-score` component, batches of 1,000 leads;
//! 2. a fresh store + instantiate + call (`describe`) with the pooling
//!    allocator, p50/p99;
//! 3. the host overhead of an empty call: the guarded call (deadline, memory
//!    limiter, timeout, health, output accounting) minus the same fresh
//!    store + instantiate + call without the guard.
//!
//! Results go to stdout as a Markdown table (copied into docs/BENCHMARKS.md).

#[path = "../../plugins/examples/weighted-score/src/rules.rs"]
mod rules;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cam::plugins::{LoadedPlugin, Manifest};
use cam::runtime::bindings::types::{Attribute, Lead};
use cam::runtime::{Limits, Runtime};

const BATCH: usize = 1_000;

fn leads() -> Vec<Lead> {
    let titles = [
        "Chief Executive Officer",
        "VP Sales",
        "Head of Growth",
        "Software Engineer",
        "Marketing Intern",
        "Founder & CEO",
    ];
    let countries = ["DE", "US", "NL", "FR", "AT", "BR"];
    (0..BATCH)
        .map(|i| Lead {
            email: format!("person{i}@company{}.com", i % 97),
            first_name: format!("First{i}"),
            last_name: format!("Last{i}"),
            company: format!("Company {}", i % 97),
            domain: format!("company{}.com", i % 97),
            title: titles[i % titles.len()].to_string(),
            country: countries[i % countries.len()].to_string(),
            timezone: "Europe/Berlin".to_string(),
            employees: Some(((i * 37) % 3000) as u32 + 1),
            attributes: if i % 3 == 0 {
                vec![Attribute {
                    key: "hiring".into(),
                    value: "true".into(),
                }]
            } else {
                vec![]
            },
        })
        .collect()
}

struct AttrView<'a>(&'a [Attribute]);

impl rules::Attributes for AttrView<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|a| a.key == key).map(|a| a.value.as_str())
    }
}

/// The native baseline: same rules, same output shape (a value and reasons per lead).
fn score_native(rules: &rules::Rules, leads: &[Lead]) -> Vec<(f32, Vec<String>)> {
    leads
        .iter()
        .map(|lead| {
            let attributes = AttrView(&lead.attributes);
            let input = rules::LeadInput {
                title: &lead.title,
                employees: lead.employees,
                country: &lead.country,
                attributes: &attributes,
            };
            let mut reasons = Vec::new();
            let value = rules.score(&input, &mut reasons);
            (value, reasons)
        })
        .collect()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn per_lead_ns(total: Duration, iterations: usize) -> f64 {
    total.as_nanos() as f64 / (iterations * BATCH) as f64
}

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    tokio.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let built = PathBuf::from(env!("CAM_BUILT_PLUGINS_DIR"));
    let source = PathBuf::from(env!("CAM_PLUGINS_SOURCE_DIR")).join("examples/weighted-score/weighted_score.toml");
    let manifest_text = std::fs::read_to_string(&source)?;
    let mut manifest = Manifest::parse(&manifest_text, &source)?;
    manifest.limits = Default::default();
    let runtime = Runtime::new(Limits::default())?;
    let bytes = std::fs::read(built.join("weighted_score.wasm"))?;
    let scope = runtime.scope("bench", None);
    let plugin = LoadedPlugin::load(
        &runtime,
        &bytes,
        manifest.clone(),
        "weighted_score",
        "weighted_score.wasm",
        scope.clone(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    // The native rules get exactly the config the component sees.
    let config_json = serde_json::to_string(&manifest.config)?;
    let rules: rules::Rules = serde_json::from_str(&config_json)?;
    let leads = leads();

    // Check both agree before timing anything.
    let native = score_native(&rules, &leads);
    let wasm = plugin
        .score(scope.clone(), &leads)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (n, w) in native.iter().zip(&wasm) {
        anyhow::ensure!(
            (n.0 - w.value).abs() < 1e-6 && n.1 == w.reasons,
            "native and wasm disagree: {n:?} vs {w:?}"
        );
    }

    // 1. Batch scoring.
    let iterations = 300;
    for _ in 0..20 {
        std::hint::black_box(score_native(&rules, &leads));
        std::hint::black_box(plugin.score(scope.clone(), &leads).await.ok());
    }
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(score_native(&rules, std::hint::black_box(&leads)));
    }
    let native_ns = per_lead_ns(started.elapsed(), iterations);
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(
            plugin
                .score(scope.clone(), &leads)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let wasm_ns = per_lead_ns(started.elapsed(), iterations);

    // 2 and 3. Fresh store + instantiate + describe, guarded and not.
    let calls = 5_000;
    let mut guarded = Vec::with_capacity(calls);
    let mut unguarded = Vec::with_capacity(calls);
    for _ in 0..500 {
        plugin
            .describe(scope.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plugin
            .describe_unguarded(scope.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    }
    for _ in 0..calls {
        let t = Instant::now();
        std::hint::black_box(
            plugin
                .describe_unguarded(scope.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?,
        );
        unguarded.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(
            plugin
                .describe(scope.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        guarded.push(t.elapsed());
    }
    let g50 = percentile(&mut guarded, 0.5);
    let g99 = percentile(&mut guarded, 0.99);
    let u50 = percentile(&mut unguarded, 0.5);
    let u99 = percentile(&mut unguarded, 0.99);
    let overhead = g50.saturating_sub(u50);

    let us = |d: Duration| d.as_nanos() as f64 / 1000.0;
    if std::env::var_os("CAM_BENCH_PARTS").is_some() {
        let t = Instant::now();
        for _ in 0..10_000 {
            let pipe = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(8192);
            std::hint::black_box(
                wasmtime_wasi::WasiCtx::builder()
                    .stderr(pipe.clone())
                    .stdout(wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(8192))
                    .build(),
            );
        }
        eprintln!("WasiCtx build: {:.2} µs", us(t.elapsed()) / 10_000.0);
    }
    println!("| measurement | baseline | cam | ratio / difference | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| batch scoring, 1,000 leads, per lead | native Rust {native_ns:.0} ns | component {wasm_ns:.0} ns | {:.2}× | ≤ 8× |",
        wasm_ns / native_ns
    );
    println!(
        "| fresh store + instantiate + `describe`, p50 (p99) | unguarded {:.1} µs ({:.1} µs) | guarded {:.1} µs ({:.1} µs) | {:.2}× | p50 ≤ 20 µs |",
        us(u50),
        us(u99),
        us(g50),
        us(g99),
        us(g50) / us(u50)
    );
    println!(
        "| host overhead of an empty call (guarded − unguarded, p50) | — | {:.2} µs | — | ≤ 1 µs |",
        us(overhead)
    );
    Ok(())
}
