//! The host's bounce, complaint and auto-reply recognition over the real
//! corpus in `../shared/corpora/bounces/` (labels in the file names, see its
//! README): every file is checked and all failures are reported at once.

use std::path::{Path, PathBuf};

use cam::mail::recognise::{BounceClass, Recognised, recognise};

/// The corpus folder, beside the repository.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/bounces")
}

/// Every `.eml` file of the corpus, sorted by name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let raw = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (name, raw)
        })
        .collect();
    files.sort();
    files
}

/// `bounce_511_003.eml` → `5.1.1`.
fn status_of(name: &str) -> Option<String> {
    let digits = name.strip_prefix("bounce_")?.split('_').next()?;
    let d: Vec<char> = digits.chars().collect();
    (d.len() == 3).then(|| format!("{}.{}.{}", d[0], d[1], d[2]))
}

/// `fbl_hotmail_002.eml` is not a complaint: it is a Postfix DSN for a
/// Hotmail address (`550 Requested action not taken: mailbox unavailable`,
/// Status 5.0.0), filed among the feedback-loop samples by its origin.
const MISFILED_BOUNCES: &[(&str, &str)] = &[("fbl_hotmail_002.eml", "5.0.0")];

/// Feedback reports that name no recipient at all (`fbl_001` has only
/// `To: <Undisclosed Recipients>` and no `Original-Rcpt-To`).
const COMPLAINTS_WITHOUT_RECIPIENT: &[&str] = &["fbl_001.eml"];

/// `unknown_*` files that are not machine-generated: `unknown_007` is a
/// person's one-line message ("Cannot parse", body `.`) with no bounce,
/// complaint or auto-reply marker, so a human reply is the right reading.
const HUMAN: &[&str] = &["unknown_007.eml"];

/// What is wrong with the reading of one file, if anything.
fn check(name: &str, got: Option<&Recognised>) -> Option<String> {
    let expected_status = status_of(name).or_else(|| {
        MISFILED_BOUNCES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| (*s).to_string())
    });
    if let Some(status) = expected_status {
        let Some(Recognised::Bounce {
            class,
            status: got_status,
            recipient,
            ..
        }) = got
        else {
            return Some(format!("expected a {status} bounce, got {got:?}"));
        };
        let mut wrong = Vec::new();
        if *got_status != status {
            wrong.push(format!("status {got_status}, expected {status}"));
        }
        if *class != BounceClass::of_status(&status) {
            wrong.push(format!("class {class:?} for {status}"));
        }
        if !recipient.as_deref().is_some_and(|r| r.contains('@')) {
            wrong.push(format!("no failed recipient ({recipient:?})"));
        }
        return (!wrong.is_empty()).then(|| format!("{} (got {got:?})", wrong.join(", ")));
    }
    if name.starts_with("fbl_") {
        return match got {
            Some(Recognised::Complaint { recipient, .. }) => (!COMPLAINTS_WITHOUT_RECIPIENT.contains(&name)
                && !recipient.as_deref().is_some_and(|r| r.contains('@')))
            .then(|| format!("complaint without the complained-about recipient: {got:?}")),
            other => Some(format!("expected a complaint, got {other:?}")),
        };
    }
    if HUMAN.contains(&name) {
        return got.is_some().then(|| format!("expected a human reply, got {got:?}"));
    }
    // `unknown_*`: machine-generated, so at least never a human reply.
    got.is_none().then(|| "read as a human reply".to_string())
}

#[test]
fn every_corpus_message_is_recognised_as_its_file_name_says() {
    let files = corpus();
    assert!(files.len() >= 122, "expected the 122-message corpus, found {}", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|(name, raw)| {
            let got = recognise(raw);
            check(name, got.as_ref()).map(|why| format!("{name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus files misread:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn no_machine_generated_corpus_message_is_read_as_a_human_reply() {
    let human: Vec<String> = corpus()
        .into_iter()
        .filter(|(name, raw)| !HUMAN.contains(&name.as_str()) && recognise(raw).is_none())
        .map(|(name, _)| name)
        .collect();
    assert!(human.is_empty(), "read as human replies: {human:?}");
}

#[test]
fn blocks_are_only_5_7_statuses_and_never_hard() {
    for (name, raw) in corpus() {
        if let Some(Recognised::Bounce { class, status, .. }) = recognise(&raw) {
            assert_eq!(
                class == BounceClass::Block,
                status.starts_with("5.7."),
                "{name}: {status} read as {class:?}"
            );
        }
    }
}
