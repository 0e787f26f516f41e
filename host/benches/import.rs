//! Import benchmark: generated CSV files of 100,000 and 1,000,000 leads,
//! imported into SQLite and PostgreSQL through `cam::import::import_leads`
//! (the code path of `cam import`), against a baseline that only parses the
//! same file (read the way the import reads it: repeats within the file
//! are left to the database). Reports rows/s and peak memory. "sqlite again"
//! imports the file a second time into the same SQLite database and times
//! that second import, where every row is skipped and looked up.
//!
//! Run: `cargo bench -p cam --bench import` (`CAM_IMPORT_BENCH_CASES=parse
//! only,postgres` picks cases, `CAM_IMPORT_BENCH_ROWS=100000` one size). PostgreSQL is found through
//! `CAM_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres);
//! when it is unreachable its rows are skipped with a note.
//!
//! Each measurement runs in a child process of this same binary, so the
//! peak resident set (`VmHWM` in /proc/self/status) is that measurement's
//! alone and the runs cannot warm each other's caches.

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cam::domain::campaign_def::CampaignDef;
use cam::import::{ImportOptions, ImportTarget, LeadImport, RowOutcome, import_leads};
use cam::store::testing::PostgresDatabase;

/// The environment variable that makes this binary run one measurement.
const CASE_VAR: &str = "CAM_IMPORT_BENCH_CASE";
const FILE_VAR: &str = "CAM_IMPORT_BENCH_FILE";
const SIZES: [u64; 2] = [100_000, 1_000_000];
const CASES: [&str; 4] = ["parse only", "sqlite", "postgres", "sqlite again"];

fn main() {
    if let Ok(case) = std::env::var(CASE_VAR) {
        let file = PathBuf::from(std::env::var(FILE_VAR).expect("the file to import"));
        child(&case, &file);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{:<12} {:>10} {:>11} {:>12} {:>13} {:>11}",
        "case", "rows", "file MiB", "seconds", "rows/s", "peak MiB"
    );
    let cases: Vec<String> = match std::env::var("CAM_IMPORT_BENCH_CASES") {
        Ok(list) => list.split(',').map(|c| c.trim().to_string()).collect(),
        Err(_) => CASES.iter().map(|c| c.to_string()).collect(),
    };
    let sizes: Vec<u64> = match std::env::var("CAM_IMPORT_BENCH_ROWS") {
        Ok(rows) => vec![rows.parse().expect("CAM_IMPORT_BENCH_ROWS: a number of rows")],
        Err(_) => SIZES.to_vec(),
    };
    for rows in sizes {
        let file = dir.path().join(format!("leads_{rows}.csv"));
        generate(&file, rows);
        let mib = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64;
        for case in &cases {
            let output = Command::new(std::env::current_exe().expect("own path"))
                .env(CASE_VAR, case)
                .env(FILE_VAR, &file)
                .output()
                .expect("run a measurement");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let Some(result) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
                let why = stdout.lines().find_map(|l| l.strip_prefix("SKIP ")).map(str::to_owned);
                let why = why.unwrap_or_else(|| format!("failed: {}", String::from_utf8_lossy(&output.stderr)));
                println!("{case:<12} {rows:>10} {mib:>11.1}   skipped: {why}");
                continue;
            };
            let fields: Vec<f64> = result.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            let &[imported, seconds, peak_kib] = fields.as_slice() else {
                panic!("bad result line {result}")
            };
            assert_eq!(
                imported as u64, rows,
                "{case}: every generated row is good and must be imported (or, again, found)"
            );
            println!(
                "{case:<12} {rows:>10} {mib:>11.1} {seconds:>12.2} {:>13.0} {:>11.1}",
                rows as f64 / seconds,
                peak_kib / 1024.0
            );
        }
        let _ = std::fs::remove_file(&file);
    }
}

/// Writes `rows` distinct, valid leads: 20 people per company.
fn generate(path: &Path, rows: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create the file"));
    writeln!(
        out,
        "email,first_name,last_name,company,title,country,timezone,employees,industry"
    )
    .expect("write");
    let titles = ["CEO", "CTO", "Head of Sales", "VP Engineering", "Founder"];
    let zones = [
        ("DE", "Europe/Berlin"),
        ("AT", "Europe/Vienna"),
        ("CH", "Europe/Zurich"),
        ("US", "America/New_York"),
    ];
    for i in 0..rows {
        let company = i / 20;
        let (country, zone) = zones[(i % 4) as usize];
        writeln!(
            out,
            "first{i}.last{i}@company{company}.example,First{i},Last{i},Company {company} GmbH,{},{country},{zone},{},software",
            titles[(i % 5) as usize],
            10 + company % 490
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Peak resident set of this process in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs one measurement and prints `RESULT imported seconds peak_kib` or `SKIP why`.
fn child(case: &str, file: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (imported, seconds) = match case {
        "parse only" => parse_only(file),
        "sqlite" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("cam.db").display());
            runtime.block_on(import_into(&url, file, 1))
        }
        // Importing the same file a second time: every row is skipped by
        // the database and looked up (is it a repeat within the file?).
        // Measures the second import; the peak covers both.
        "sqlite again" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("cam.db").display());
            runtime.block_on(import_into(&url, file, 2))
        }
        "postgres" => match runtime.block_on(PostgresDatabase::try_create("cam_import_bench")) {
            // Dropping `database` drops the database.
            Ok(database) => runtime.block_on(import_into(&database.url, file, 1)),
            Err(why) => {
                println!("SKIP {why}");
                return;
            }
        },
        other => panic!("unknown case {other}"),
    };
    println!("RESULT {imported} {seconds} {}", peak_kib());
}

/// The baseline: read and check every row, store nothing. Like the import,
/// it leaves repeats within the file to the database (no in-file set).
fn parse_only(file: &Path) -> (u64, f64) {
    let started = Instant::now();
    let input = std::fs::File::open(file).expect("open");
    let mut accepted = 0;
    let import = LeadImport::new(input, ImportOptions::default())
        .expect("header")
        .dedupe_in_file(false);
    for outcome in import {
        if let RowOutcome::Accepted { row, .. } = outcome.expect("readable") {
            std::hint::black_box(row.into_new_lead("bench"));
            accepted += 1;
        }
    }
    (accepted, started.elapsed().as_secs_f64())
}

/// Imports `file` `times` times into a new campaign of a fresh database at
/// `url`; returns the last import's leads stored (the first time) or found
/// already stored (after), and its seconds.
async fn import_into(url: &str, file: &Path, times: u32) -> (u64, f64) {
    let store = cam::store::open(url).await.expect("open the store");
    store.ensure_tenant("default", "Default").await.expect("tenant");
    let campaign = CampaignDef::with_defaults("bench")
        .to_new_campaign()
        .expect("valid campaign");
    let campaign = store.create_campaign("default", &campaign).await.expect("campaign");
    let target = ImportTarget {
        tenant: "default".into(),
        campaign_id: campaign.id,
        source_name: "bench.csv".into(),
        dry_run: false,
    };
    let mut last = (0, 0.0);
    for _ in 0..times {
        let started = Instant::now();
        let input = std::fs::File::open(file).expect("open");
        let summary = import_leads(store.as_ref(), &target, input, ImportOptions::default(), |_| {})
            .await
            .expect("import");
        last = (
            summary.imported + summary.duplicates_in_database,
            started.elapsed().as_secs_f64(),
        );
    }
    last
}
