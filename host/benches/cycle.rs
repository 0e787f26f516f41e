//! Cycle benchmark: one cycle over 100,000 leads — discover from a
//! generated HTTP lead source (the `http-json` example plugin against a
//! local API), enrich (`basic-enrich`), score (`weighted-score`), schedule
//! within caps — against a baseline that inserts the same leads straight
//! into the store with no plugin. Runs on SQLite and on PostgreSQL (a
//! throwaway database at `CAM_TEST_POSTGRES_URL`) and reports leads/s per
//! step, PostgreSQL's enrich + score time against SQLite's, and peak memory.
//!
//! Run: `cargo bench -p cam --bench cycle` (`CAM_CYCLE_BENCH_LEADS` changes
//! the count, `CAM_CYCLE_BENCH_BACKENDS=sqlite` skips PostgreSQL).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cam::domain::model::{CampaignStatus, NewLead};
use cam::mail::unsubscribe::UnsubscribeLinks;
use cam::pipeline::{Cycle, FixedClock, Transports};
use cam::plugins::PluginRegistry;
use cam::runtime::{Limits, Runtime};
use cam::store::Store;
use cam::store::testing::PostgresDatabase;

const DEFAULT_LEADS: usize = 100_000;
const TITLES: [&str; 6] = [
    "CTO",
    "VP Engineering",
    "Head of Sales",
    "Founder",
    "Marketing Manager",
    "Engineer",
];

/// Lead `i` as the API's JSON item, written straight into `out` (the
/// values are plain ASCII, nothing to escape): the fixture stands in for a
/// remote API, so it should cost this machine as little as it can.
fn lead_json(i: usize, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        r#"{{"email":"person{i}@company{c}.example","name":{{"first":"First{i}","last":"Bench"}},"title":"{t}","company":{{"name":"Company {c}","employees":{e}}},"country":"DE"}}"#,
        c = i / 3,
        t = TITLES[i % TITLES.len()],
        e = 10 + (i % 500),
    );
}

fn new_lead(i: usize) -> NewLead {
    NewLead {
        email: format!("person{i}@company{}.example", i / 3),
        first_name: format!("First{i}"),
        last_name: "Bench".into(),
        company: format!("Company {}", i / 3),
        title: TITLES[i % TITLES.len()].into(),
        country: "DE".into(),
        employees: Some(10 + (i % 500) as u32),
        source_plugin: "baseline".into(),
        source_version: "1".into(),
        ..NewLead::default()
    }
}

/// A paged people API generating `total` leads on the fly.
async fn serve(total: usize) -> String {
    use axum::extract::Query;
    #[derive(serde::Deserialize)]
    struct Page {
        page: usize,
        limit: usize,
    }
    let app = axum::Router::new().route(
        "/people",
        axum::routing::get(move |Query(q): Query<Page>| async move {
            let start = (q.page.max(1) - 1) * q.limit;
            let mut body = String::with_capacity(q.limit * 200);
            body.push_str(r#"{"data":{"items":["#);
            for i in start..(start + q.limit).min(total) {
                if i > start {
                    body.push(',');
                }
                lead_json(i, &mut body);
            }
            body.push_str("]}}");
            body
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/people")
}

fn install(dir: &Path, name: &str, edit: impl Fn(String) -> String) {
    let built = Path::new(env!("CAM_BUILT_PLUGINS_DIR"));
    std::fs::copy(built.join(format!("{name}.wasm")), dir.join(format!("{name}.wasm"))).expect("copy wasm");
    let examples = Path::new(env!("CAM_PLUGINS_SOURCE_DIR")).join("examples");
    let manifest = std::fs::read_dir(&examples)
        .expect("examples")
        .flatten()
        .map(|e| e.path().join(format!("{name}.toml")))
        .find(|p| p.exists())
        .expect("manifest");
    let text = std::fs::read_to_string(manifest).expect("manifest");
    std::fs::write(dir.join(format!("{name}.toml")), edit(text)).expect("write manifest");
}

fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn store_in(dir: &Path) -> Arc<dyn Store> {
    cam::store::open(&format!("sqlite://{}", dir.join("cam.db").display()))
        .await
        .expect("store")
}

async fn campaign(store: &dyn Store, sources: Vec<String>) -> cam::domain::model::Campaign {
    store.ensure_tenant("default", "Bench").await.expect("tenant");
    let mut def = cam::domain::campaign_def::CampaignDef::with_defaults("bench");
    def.plugins.lead_sources = sources;
    def.plugins.enrichers = vec!["basic_enrich".into()];
    def.plugins.scorer = Some("weighted_score".into());
    def.mailboxes = vec![cam::domain::campaign_def::MailboxDef {
        address: "a@bench.example".into(),
        daily_cap: 50,
    }];
    let created = store
        .create_campaign("default", &def.to_new_campaign().expect("valid"))
        .await
        .expect("create");
    store
        .set_campaign_status("default", created.id, CampaignStatus::Running, "bench", "bench")
        .await
        .expect("start")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = std::env::var("CAM_CYCLE_BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_LEADS);

    // Baseline: the same leads inserted straight into the store.
    let base_dir = tempfile::tempdir().expect("tempdir");
    let base_store = store_in(base_dir.path()).await;
    let base_campaign = campaign(base_store.as_ref(), vec![]).await;
    let timer = Instant::now();
    let leads: Vec<NewLead> = (0..total).map(new_lead).collect();
    for chunk in leads.chunks(500) {
        base_store
            .insert_leads("default", base_campaign.id, chunk)
            .await
            .expect("insert");
    }
    let baseline = timer.elapsed().as_secs_f64();
    drop(leads);

    // The cycle.
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins");
    let url = serve(total).await;
    install(&plugins, "http_json", |t| {
        t.replace("https://api.example.com/v1/people", &url)
            .replace("max_page_size = 100", "max_page_size = 500")
            .replace("optional = [", "optional = [\"title\", ")
    });
    install(&plugins, "basic_enrich", |t| t);
    install(&plugins, "weighted_score", |t| t);
    let runtime = Runtime::new(Limits {
        timeout: std::time::Duration::from_secs(10),
        ..Limits::default()
    })
    .expect("runtime");
    let (registry, failures) = PluginRegistry::load_dir(&runtime, &plugins, runtime.scope("default", None))
        .await
        .expect("load");
    assert!(failures.is_empty(), "{failures:?}");
    let backends = std::env::var("CAM_CYCLE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut enrich_score = Vec::new();
    for backend in backends.split(',').map(str::trim) {
        let _database;
        let store = match backend {
            "sqlite" => store_in(dir.path()).await,
            "postgres" => {
                let database = PostgresDatabase::try_create("cam_cycle_bench")
                    .await
                    .unwrap_or_else(|why| panic!("PostgreSQL for the bench: {why}"));
                let store = cam::store::open(&database.url).await.expect("store");
                _database = database;
                store
            }
            other => panic!("CAM_CYCLE_BENCH_BACKENDS: unknown backend {other:?}"),
        };
        let campaign = campaign(store.as_ref(), vec!["http_json".into()]).await;
        let transports = Transports::dry_run(
            &dir.path().join(format!("outbox-{backend}")),
            &dir.path().join("inbox"),
            "op@bench.example",
            Arc::new(UnsubscribeLinks::new(vec![7; 32], None)),
        );
        // A Tuesday at 10:00 UTC: inside the default window for the fallback zone.
        let clock = FixedClock(
            chrono::DateTime::parse_from_rfc3339("2026-03-03T10:00:00Z")
                .expect("time")
                .to_utc(),
        );
        let timer = Instant::now();
        let report = Cycle::new(store.clone(), &runtime, &registry, &clock, campaign, transports)
            .run()
            .await
            .expect("cycle");
        let whole = timer.elapsed().as_secs_f64();

        let ms = |step: &str| report.step(step).map_or(0, |s| s.duration_ms);
        let upto_schedule: u64 = ["discover", "enrich", "score", "schedule"].iter().map(|s| ms(s)).sum();
        let inserted = report.step("discover").map_or(0, |s| s.count("inserted"));
        println!(
            "[{backend}] leads: {total}; inserted by discover: {inserted}; queued: {}",
            report.step("schedule").map_or(0, |s| s.count("queued"))
        );
        for step in ["discover", "enrich", "score", "schedule", "send"] {
            let failures = report.step(step).map_or(0, |s| s.failed_total);
            println!("  {step:<9} {:>8} ms  (failures: {failures})", ms(step));
        }
        let per_second = |secs: f64| total as f64 / secs.max(1e-9);
        println!(
            "[{backend}] discover→schedule: {:.2} s, {:.0} leads/s (target ≥ 20,000); whole cycle: {whole:.2} s",
            upto_schedule as f64 / 1000.0,
            per_second(upto_schedule as f64 / 1000.0)
        );
        enrich_score.push((backend.to_string(), ms("enrich") + ms("score")));
    }
    let per_second = |secs: f64| total as f64 / secs.max(1e-9);
    println!(
        "baseline (SQLite store.insert_leads only): {baseline:.2} s, {:.0} leads/s",
        per_second(baseline)
    );
    if let (Some((_, sqlite)), Some((_, postgres))) = (
        enrich_score.iter().find(|(b, _)| b == "sqlite"),
        enrich_score.iter().find(|(b, _)| b == "postgres"),
    ) {
        println!(
            "enrich + score: SQLite {sqlite} ms, PostgreSQL {postgres} ms = {:.2}× (target ≤ 2×)",
            *postgres as f64 / (*sqlite).max(1) as f64
        );
    }
    println!("peak RSS (this process, API server included): {:.0} MiB", peak_mib());
}
