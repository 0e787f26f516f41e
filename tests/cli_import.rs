//! `cam import` driven as a user runs it: the sample file, re-imports,
//! suppression, dry runs, hostile files, and the same flow on PostgreSQL.

use std::io::Write as _;

use cam::domain::model::{SuppressionKind, SuppressionReason};
use serde_json::Value;

use crate::cli_setup::{Setup, examples_dir};

fn leads_csv() -> String {
    examples_dir().join("leads.csv").display().to_string()
}

fn import(setup: &Setup, file: &str, campaign: &str, extra: &[&str]) -> Value {
    let mut args = vec!["import", file, "--campaign", campaign];
    args.extend_from_slice(extra);
    setup.json(&args)
}

fn leads_total(setup: &Setup, campaign: &str) -> u64 {
    let c = setup.campaign(campaign);
    c["leads"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

fn count(report: &Value, kind: &str) -> u64 {
    report["rejected"][kind].as_u64().unwrap_or(0)
}

/// The sample file's contents, counted: 305 rows, 295 good, 4 repeated
/// addresses, 5 invalid ones and 1 row without an address.
fn assert_first_import_of_the_sample(report: &Value) {
    assert_eq!(report["rows"], 305, "{report}");
    assert_eq!(report["imported"], 295, "{report}");
    assert_eq!(count(report, "duplicate"), 4, "{report}");
    assert_eq!(count(report, "invalid_email"), 5, "{report}");
    assert_eq!(count(report, "missing_email"), 1, "{report}");
    assert_eq!(report["duplicates_in_file"], 4);
    assert_eq!(report["duplicates_in_database"], 0);
    assert_eq!(report["suppressed"], 0);
    let rejected = report["rejected_rows"].as_array().unwrap();
    assert_eq!(rejected.len(), 10);
    assert!(
        rejected
            .iter()
            .all(|r| r["line"].as_u64().unwrap() > 1 && !r["reason"].as_str().unwrap().is_empty())
    );
}

fn assert_reimport_changes_nothing(report: &Value) {
    assert_eq!(report["rows"], 305, "{report}");
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["duplicates_in_database"], 295, "{report}");
    assert_eq!(report["duplicates_in_file"], 4, "{report}");
}

#[test]
fn the_sample_file_imports_every_good_row_and_reports_the_rest_by_line() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "sample"]);
    let out = setup.ok(&["import", &leads_csv(), "--campaign", "sample"]);
    assert!(out.contains("Imported 295 of 305 rows"), "{out}");
    assert!(out.contains("line 213: no email address"), "{out}");
    assert!(out.contains("4 in the file, 0 already in the database"), "{out}");
    assert_eq!(leads_total(&setup, "sample"), 295);
}

#[test]
fn json_reports_the_expected_counts_and_reimporting_imports_nothing() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "sample"]);
    assert_first_import_of_the_sample(&import(&setup, &leads_csv(), "sample", &[]));
    let again = import(&setup, &leads_csv(), "sample", &[]);
    assert_reimport_changes_nothing(&again);
    assert_eq!(leads_total(&setup, "sample"), 295);

    // The text report caps the list of rejected rows.
    let out = setup.ok(&["import", &leads_csv(), "--campaign", "sample"]);
    assert!(out.contains("… and 255 more; use --json for all"), "{out}");
}

#[tokio::test]
async fn a_suppressed_address_is_never_imported() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "sample"]);
    let url = format!("sqlite://{}", setup.path().join("cam.db").display());
    let store = cam::store::open(&url).await.expect("open the store");
    store
        .add_suppression(
            "default",
            SuppressionKind::Address,
            "ASUZUKI@fuji-cloud-works.example",
            SuppressionReason::Unsubscribe,
            "asked",
        )
        .await
        .expect("suppress");
    store
        .add_suppression(
            "default",
            SuppressionKind::Domain,
            "dune-logistics.example",
            SuppressionReason::Complaint,
            "",
        )
        .await
        .expect("suppress domain");
    drop(store);

    // One address, and a domain with 7 leads in the file.
    let report = import(&setup, &leads_csv(), "sample", &[]);
    assert_eq!(report["suppressed"], 8, "{report}");
    assert_eq!(report["imported"], 295 - 8, "{report}");
    let lines: Vec<u64> = report["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "suppressed")
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3, 86, 180, 187, 218, 240, 284]);

    // Still suppressed on the next import, and never a lead.
    let again = import(&setup, &leads_csv(), "sample", &[]);
    assert_eq!(again["suppressed"], 8);
    assert_eq!(again["imported"], 0);
    let store = cam::store::open(&url).await.expect("open the store");
    assert!(
        store
            .lead_by_email("default", "asuzuki@fuji-cloud-works.example")
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_dry_run_reports_the_same_counts_and_writes_nothing() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "sample"]);
    let report = import(&setup, &leads_csv(), "sample", &["--dry-run"]);
    assert_eq!(report["dry_run"], true);
    assert_first_import_of_the_sample(&report);
    assert_eq!(leads_total(&setup, "sample"), 0);
    let out = setup.ok(&["import", &leads_csv(), "--campaign", "sample", "--dry-run"]);
    assert!(
        out.contains("Dry run: nothing was written") && out.contains("Would import 295"),
        "{out}"
    );
    assert_eq!(leads_total(&setup, "sample"), 0);

    // After a real import a dry run sees every address as known.
    setup.ok(&["import", &leads_csv(), "--campaign", "sample"]);
    assert_reimport_changes_nothing(&import(&setup, &leads_csv(), "sample", &["--dry-run"]));
    assert_eq!(leads_total(&setup, "sample"), 295);
}

#[test]
fn a_hostile_file_imports_every_good_row() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "nasty"]);
    let path = setup.path().join("nasty.csv");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(b"\xEF\xBB\xBFemail,first_name,company\n").unwrap(); // BOM, line 1
    file.write_all(b"a1@example.com,Anna,\"Acme\nInternational\"\n")
        .unwrap(); // quoted newline, lines 2-3
    file.write_all(b"a2@example.com,B\xE9a,Latin-1 GmbH\n").unwrap(); // not UTF-8, line 4
    file.write_all(b"a3@example.com,Carl,Bar,extra one,extra two\n")
        .unwrap(); // extra columns, line 5
    file.write_all(b"a4@example.com,Dora,\"").unwrap(); // a 10 MB field, line 6
    file.write_all(&vec![b'x'; 10 * 1024 * 1024]).unwrap();
    file.write_all(b"\"\n").unwrap();
    file.write_all(b"a5@example.com,Eve\n").unwrap(); // missing column, line 7
    file.write_all(b"A6@Example.com,Finn,Baz").unwrap(); // no final newline, line 8
    drop(file);

    let report = import(&setup, path.to_str().unwrap(), "nasty", &[]);
    assert_eq!(report["rows"], 6, "{report}");
    assert_eq!(report["imported"], 4, "{report}");
    let rejected: Vec<(u64, String)> = report["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        rejected,
        vec![(4, "non_utf8".to_owned()), (6, "field_too_large".to_owned())]
    );
    assert_eq!(leads_total(&setup, "nasty"), 4);
    let store_url = format!("sqlite://{}", setup.path().join("cam.db").display());
    let leads = tokio::runtime::Runtime::new().unwrap().block_on(async move {
        let store = cam::store::open(&store_url).await.expect("open");
        let a1 = store
            .lead_by_email("default", "a1@example.com")
            .await
            .unwrap()
            .expect("a1 imported");
        let a3 = store
            .lead_by_email("default", "a3@example.com")
            .await
            .unwrap()
            .expect("a3 imported");
        (a1, a3)
    });
    assert_eq!(leads.0.fields.company, "Acme\nInternational");
    assert_eq!(
        leads.1.fields.attributes.len(),
        2,
        "extra columns are kept as attributes"
    );
}

#[test]
fn file_level_problems_fail_with_a_clear_message() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "c"]);
    let err = setup.fails(&["import", "missing.csv", "--campaign", "c"]);
    assert!(err.contains("cannot open the lead file missing.csv"), "{err}");

    let no_email = setup.path().join("no_email.csv");
    std::fs::write(&no_email, "name;company\nAnna;Acme\n").unwrap();
    let err = setup.fails(&["import", no_email.to_str().unwrap(), "--campaign", "c"]);
    assert!(err.contains("no email column") && err.contains("semicolon"), "{err}");

    let err = setup.fails(&["import", &leads_csv(), "--campaign", "nope"]);
    assert!(err.contains("no campaign named \"nope\""), "{err}");
}

#[test]
fn a_mapping_reads_an_oddly_named_email_column() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "c"]);
    let path = setup.path().join("odd.csv");
    std::fs::write(&path, "Kontakt;Vorname\nanna@acme.example;Anna\nbob@acme.example;Bob\n").unwrap();
    let report = import(
        &setup,
        path.to_str().unwrap(),
        "c",
        &["--map", "Kontakt=email", "--delimiter", ";"],
    );
    assert_eq!(report["imported"], 2, "{report}");
}

#[tokio::test]
async fn the_same_import_flow_works_on_postgresql() {
    let Some(database) = crate::support::PostgresDatabase::create("cam_import_test").await else {
        return;
    };
    let setup = Setup::initialized_with(vec![("CAM_DATABASE_URL".into(), database.url.clone())]);
    assert!(setup.ok(&["migrate"]).contains(&database.name));
    setup.ok(&["campaigns", "create", "sample"]);
    assert_first_import_of_the_sample(&import(&setup, &leads_csv(), "sample", &["--dry-run"]));
    assert_eq!(leads_total(&setup, "sample"), 0);
    assert_first_import_of_the_sample(&import(&setup, &leads_csv(), "sample", &[]));
    assert_reimport_changes_nothing(&import(&setup, &leads_csv(), "sample", &[]));
    assert_eq!(leads_total(&setup, "sample"), 295);
    // Nothing went to SQLite by mistake.
    let store = cam::store::open(&database.url).await.expect("open");
    assert!(
        store
            .lead_by_email("default", "asuzuki@fuji-cloud-works.example")
            .await
            .unwrap()
            .is_some()
    );
}
