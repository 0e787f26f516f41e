//! The reader against every kind of bad input, all in memory. Each test
//! checks both that the bad row is reported precisely and that every good
//! row survives.

use std::collections::HashMap;

use super::*;
use crate::domain::email::EmailError;
use crate::domain::suppression::{SuppressionHit, SuppressionList};

/// Accepted rows and rejections, each with its line.
type Outcomes = (Vec<(u64, ImportRow)>, Vec<(u64, RejectReason)>);

/// Reads `input` fully with `options`; panics on file-level errors.
fn read_with(input: &[u8], options: ImportOptions) -> Outcomes {
    let import = LeadImport::new(input, options).unwrap_or_else(|e| panic!("{e}"));
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for outcome in import {
        match outcome.unwrap_or_else(|e| panic!("{e}")) {
            RowOutcome::Accepted { line, row } => good.push((line, row)),
            RowOutcome::Rejected { line, reason } => bad.push((line, reason)),
        }
    }
    (good, bad)
}

fn read(input: &[u8]) -> Outcomes {
    read_with(input, ImportOptions::default())
}

fn emails(good: &[(u64, ImportRow)]) -> Vec<&str> {
    good.iter().map(|(_, r)| r.email.as_str()).collect()
}

#[test]
fn a_clean_file_maps_every_column() {
    let (good, bad) = read(
        b"email,first_name,last_name,company,title,country,timezone,employees,Industry\n\
          Anna@Acme.com , Anna ,Schmidt,Acme GmbH,CTO,de,Europe/Berlin,\"1,200\",logistics\n",
    );
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(
        good,
        vec![(
            2,
            ImportRow {
                email: "anna@acme.com".into(),
                first_name: "Anna".into(),
                last_name: "Schmidt".into(),
                company: "Acme GmbH".into(),
                domain: String::new(),
                title: "CTO".into(),
                country: "DE".into(),
                timezone: "Europe/Berlin".into(),
                employees: Some(1200),
                attributes: vec![("industry".into(), "logistics".into())],
            }
        )]
    );
}

#[test]
fn a_utf8_bom_does_not_hide_the_email_header() {
    let (good, bad) = read(b"\xEF\xBB\xBFemail,first_name\na@x.com,\xC3\x84nne\n");
    assert!(bad.is_empty());
    assert_eq!(good[0].1.first_name, "Änne");
}

#[test]
fn quoted_newlines_stay_in_their_field_and_lines_count_physically() {
    let (good, bad) = read(
        b"email,notes\n\
          a@x.com,\"line one\nline two\"\n\
          not-an-email,x\n\
          b@x.com,\"three\r\nlines\r\nhere\"\n\
          c@x.com,plain\n",
    );
    assert_eq!(emails(&good), vec!["a@x.com", "b@x.com", "c@x.com"]);
    assert_eq!(
        good[0].1.attributes,
        vec![("notes".into(), "line one\nline two".into())]
    );
    assert_eq!(good.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![2, 5, 8]);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, 4);
}

#[test]
fn non_utf8_bytes_reject_only_their_row_and_name_the_column() {
    let (good, bad) = read(b"email,company\na@x.com,M\xFCller AG\nb@x.com,Mueller AG\n");
    assert_eq!(emails(&good), vec!["b@x.com"]);
    assert_eq!(
        bad,
        vec![(
            2,
            RejectReason::NonUtf8Field {
                column: "company".into()
            }
        )]
    );
    assert!(bad[0].1.to_string().contains("UTF-8"));
}

#[test]
fn short_rows_read_missing_columns_as_empty() {
    let (good, bad) = read(b"first_name,company,email\nAnna,Acme,a@x.com\nBob,Beta\nCarl\n,,c@x.com\n");
    assert_eq!(emails(&good), vec!["a@x.com", "c@x.com"]);
    assert_eq!(
        bad,
        vec![(3, RejectReason::MissingEmail), (4, RejectReason::MissingEmail)]
    );
}

#[test]
fn extra_columns_are_kept_as_numbered_attributes() {
    let (good, bad) = read(b"email,first_name\na@x.com,Anna,surplus,,more\n");
    assert!(bad.is_empty());
    assert_eq!(
        good[0].1.attributes,
        vec![
            ("column_3".into(), "surplus".into()),
            ("column_5".into(), "more".into())
        ]
    );
}

#[test]
fn duplicate_headers_warn_and_keep_the_first_column() {
    let input: &[u8] = b"email,Email,name\na@x.com,b@x.com,Anna\n";
    let import = LeadImport::new(input, ImportOptions::default()).unwrap();
    assert_eq!(import.warnings().len(), 1);
    let rows: Vec<_> = import.map(|o| o.unwrap()).collect();
    match &rows[..] {
        [RowOutcome::Accepted { row, .. }] => {
            assert_eq!(row.email, "a@x.com");
            assert!(row.attributes.contains(&("email_2".into(), "b@x.com".into())));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_ten_megabyte_field_rejects_its_row_and_nothing_else() {
    let mut input = b"email,notes\na@x.com,short\nb@x.com,\"".to_vec();
    input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    input.extend(b"\"\nc@x.com,fine\n");
    let (good, bad) = read(&input);
    assert_eq!(emails(&good), vec!["a@x.com", "c@x.com"]);
    assert_eq!(
        bad,
        vec![(
            3,
            RejectReason::FieldTooLarge {
                column: "notes".into(),
                bytes: 10 * 1024 * 1024,
                limit: DEFAULT_MAX_FIELD_BYTES,
            }
        )]
    );
    assert_eq!(good[1].0, 4);
}

#[test]
fn an_unclosed_quote_costs_the_rest_of_the_file_but_never_its_memory() {
    // The quote never closes, so the parser reads everything after it as one
    // field: that row is rejected as too large, the rows before it are kept,
    // and only the field limit's worth of bytes is ever held.
    let mut input = b"email,notes\na@x.com,ok\nb@x.com,\"oops\n".to_vec();
    for i in 0..200_000 {
        input.extend(format!("c{i}@x.com,swallowed\n").as_bytes());
    }
    let (good, bad) = read(&input);
    assert_eq!(emails(&good), vec!["a@x.com"]);
    assert!(
        matches!(&bad[..], [(3, RejectReason::FieldTooLarge { column, .. })] if column == "notes"),
        "{bad:?}"
    );
}

#[test]
fn fields_are_kept_up_to_the_limit_and_rejected_past_it() {
    let options = || ImportOptions {
        max_field_bytes: 6000,
        ..ImportOptions::default()
    };
    let input = format!(
        "email,notes\na@x.com,{}\nb@x.com,{}\nc@x.com,short\n",
        "x".repeat(6000),
        "y".repeat(6001)
    );
    let (good, bad) = read_with(input.as_bytes(), options());
    assert_eq!(emails(&good), vec!["a@x.com", "c@x.com"]);
    assert_eq!(
        bad,
        vec![(
            3,
            RejectReason::FieldTooLarge {
                column: "notes".into(),
                bytes: 6001,
                limit: 6000
            }
        )]
    );
}

#[test]
fn a_row_with_thousands_of_columns_is_rejected_alone() {
    let input = format!("email\na@x.com{}\nb@x.com\n", ",".repeat(5000));
    let (good, bad) = read(input.as_bytes());
    assert_eq!(emails(&good), vec!["b@x.com"]);
    assert_eq!(
        bad,
        vec![(
            2,
            RejectReason::TooManyColumns {
                count: 5001,
                limit: MAX_COLUMNS
            }
        )]
    );
}

#[test]
fn blank_lines_do_not_shift_line_numbers() {
    let (good, bad) = read(b"email\r\n\r\n\r\nbad\r\n\r\na@x.com\r\n\n\nb@x.com");
    assert_eq!(bad[0].0, 4);
    assert_eq!(good.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![6, 9]);
}

/// Hands out its input one byte per `read`, like the slowest pipe.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn a_reader_that_returns_one_byte_at_a_time_reads_the_same() {
    let sample: &[u8] = include_bytes!("../../../examples/leads.csv");
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(sample);
    let whole: Vec<_> = LeadImport::new(&input[..], ImportOptions::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let trickled: Vec<_> = LeadImport::new(Trickle(&input), ImportOptions::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(whole.len(), 305);
    assert_eq!(whole, trickled);
}

/// Fails after handing out `ok` bytes.
struct Broken<'a>(&'a [u8]);

impl std::io::Read for Broken<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_read_error_ends_the_import_with_an_error() {
    let mut import = LeadImport::new(Broken(b"email\na@x.com\n"), ImportOptions::default()).unwrap();
    assert!(matches!(import.next(), Some(Ok(RowOutcome::Accepted { .. }))));
    let err = import.next().unwrap().unwrap_err();
    assert!(err.to_string().contains("reading the file failed"), "{err}");
    assert!(import.next().is_none());
}

#[test]
fn invalid_emails_are_rejected_with_the_reason() {
    let (good, bad) = read(b"email\nok@x.com\nno-at.example.com\n\"an na@x.com\"\nb@\n@x.com\nok2@x.com\n");
    assert_eq!(emails(&good), vec!["ok@x.com", "ok2@x.com"]);
    let errors: Vec<_> = bad
        .iter()
        .map(|(line, r)| match r {
            RejectReason::InvalidEmail { error, .. } => (*line, error.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, EmailError::NoAt),
            (4, EmailError::ContainsSpace),
            (5, EmailError::EmptyDomain),
            (6, EmailError::EmptyLocalPart),
        ]
    );
    assert!(bad[0].1.to_string().contains("no-at.example.com"));
}

#[test]
fn duplicates_within_the_file_point_at_the_first_line() {
    let (good, bad) = read(b"email\na@x.com\nb@x.com\n A@X.COM\n");
    assert_eq!(emails(&good), vec!["a@x.com", "b@x.com"]);
    assert_eq!(bad, vec![(4, RejectReason::Duplicate { first_line: 2 })]);
}

#[test]
fn suppressed_addresses_and_domains_are_rejected() {
    let mut suppression = SuppressionList::new();
    suppression.add_raw_address("gone@x.com").unwrap();
    suppression.add_domain("blocked.io").unwrap();
    let options = ImportOptions {
        suppression,
        ..ImportOptions::default()
    };
    let (good, bad) = read_with(b"email\nGone@x.com\nstay@x.com\nceo@eu.blocked.io\n", options);
    assert_eq!(emails(&good), vec!["stay@x.com"]);
    assert_eq!(
        bad,
        vec![
            (
                2,
                RejectReason::Suppressed(SuppressionHit::Address("gone@x.com".into()))
            ),
            (4, RejectReason::Suppressed(SuppressionHit::Domain("blocked.io".into()))),
        ]
    );
}

#[test]
fn a_file_without_an_email_column_is_refused_as_a_whole() {
    let err = LeadImport::new(&b"name,company\nAnna,Acme\n"[..], ImportOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, ImportError::NoEmailColumn { .. }));
    assert!(err.to_string().contains("\"name\""), "{err}");
}

#[test]
fn a_semicolon_file_gets_a_hint_and_reads_with_the_delimiter_set() {
    let input: &[u8] = b"email;first_name\na@x.com;Anna\n";
    let err = LeadImport::new(input, ImportOptions::default()).err().unwrap();
    assert!(err.to_string().contains("semicolon"), "{err}");
    let options = ImportOptions {
        delimiter: b';',
        ..ImportOptions::default()
    };
    let (good, _) = read_with(input, options);
    assert_eq!(good[0].1.first_name, "Anna");
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let err = LeadImport::new(&b""[..], ImportOptions::default()).err().unwrap();
    assert!(matches!(err, ImportError::Empty), "{err}");
}

#[test]
fn a_user_mapping_renames_and_drops_columns() {
    let options = ImportOptions {
        mapping: HashMap::from([
            ("Kontakt".to_owned(), "email".to_owned()),
            ("Vorname".to_owned(), "first_name".to_owned()),
            ("intern".to_owned(), "-".to_owned()),
        ]),
        ..ImportOptions::default()
    };
    let (good, bad) = read_with(
        b"Kontakt,Vorname,intern\na@x.com,Anna,secret\nb@x.com,Bob,\xFF\n",
        options,
    );
    assert!(bad.is_empty(), "an ignored column cannot reject a row: {bad:?}");
    assert_eq!(good[0].1.first_name, "Anna");
    assert!(good[0].1.attributes.is_empty());
}

#[test]
fn progress_is_reported_in_bytes() {
    let input: &[u8] = b"email\na@x.com\nb@x.com\n";
    let mut import = LeadImport::new(input, ImportOptions::default()).unwrap();
    let before = import.bytes_read();
    while import.next().is_some() {}
    assert!(before > 0);
    assert_eq!(import.bytes_read(), input.len() as u64);
}

#[test]
fn the_report_counts_outcomes_by_kind() {
    let mut report = ImportReport::default();
    for outcome in LeadImport::new(&b"email\na@x.com\na@x.com\nbad\n"[..], ImportOptions::default()).unwrap() {
        report.record(&outcome.unwrap());
    }
    assert_eq!(
        report.to_string(),
        "3 rows: 1 accepted, 2 rejected (1 duplicate, 1 invalid_email)"
    );
}

#[test]
fn the_sample_leads_file_imports_with_the_planted_rejections() {
    let sample: &[u8] = include_bytes!("../../../examples/leads.csv");
    let mut report = ImportReport::default();
    for outcome in LeadImport::new(sample, ImportOptions::default()).unwrap() {
        report.record(&outcome.unwrap());
    }
    assert_eq!(report.accepted, 295, "{report}");
    assert_eq!(
        report.to_string(),
        "305 rows: 295 accepted, 10 rejected (4 duplicate, 5 invalid_email, 1 missing_email)"
    );
}

/// Not a benchmark, a tripwire: the reader must stay at least twice the
/// 50,000 rows/s the import needs. Debug builds are ~10x slower than
/// release, so this only runs optimized (`cargo test --release`).
#[test]
#[cfg_attr(debug_assertions, ignore = "timing is only meaningful in release builds")]
fn the_reader_sustains_well_over_fifty_thousand_rows_a_second() {
    let mut input = b"email,first_name,last_name,company,title,country,timezone,employees\n".to_vec();
    let rows = 200_000;
    for i in 0..rows {
        input.extend(
            format!(
                "User.{i}@Company{}.example.com,Anna,Schmidt,Acme GmbH,Head of Sales,DE,Europe/Berlin,{}\n",
                i % 977,
                i % 5000
            )
            .as_bytes(),
        );
    }
    let start = std::time::Instant::now();
    let accepted = LeadImport::new(&input[..], ImportOptions::default())
        .unwrap()
        .filter(|o| matches!(o, Ok(RowOutcome::Accepted { .. })))
        .count();
    let per_second = rows as f64 / start.elapsed().as_secs_f64();
    assert_eq!(accepted, rows);
    assert!(per_second > 100_000.0, "{per_second:.0} rows/s");
}
