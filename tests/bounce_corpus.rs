//! The host's bounce, complaint and auto-reply recognition over the real
//! corpus in `tests/data/bounces/` (MIT-licensed, see its LICENSE; labels in
//! the file names, see its README): every file is checked and all failures
//! are reported at once.

use crate::support::{install_plugin, plugin};
use std::path::{Path, PathBuf};

use cam::mail::recognise::{BounceClass, Recognised, recognise};

/// The corpus: `$CAM_BOUNCE_CORPUS` (to try another corpus), else the copy
/// in the repository.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("CAM_BOUNCE_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/bounces"),
    }
}

/// Every `.eml` file of the corpus, sorted by name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot read the bounce corpus at {} ({e}); set CAM_BOUNCE_CORPUS to its folder",
            dir.display()
        )
    });
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
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
    assert!(
        files.len() >= 122,
        "expected the 122-message corpus, found {}",
        files.len()
    );
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

/// Runs `cam mail classify ARGS` in `dir` (its `plugins/` folder is the
/// plugins folder).
fn mail_classify(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cam"))
        .current_dir(dir)
        .env("CAM_CONFIG", dir.join("cam.toml"))
        .env_remove("RUST_LOG")
        .args(["mail", "classify"])
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{stdout}{stderr}"))
}

#[test]
fn mail_classify_prints_bounces_complaints_and_the_classifiers_label_for_a_human_reply() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("plugins")).expect("plugins folder");
    install_plugin(&dir.path().join("plugins"), plugin::HEURISTIC_REPLIES);
    let human = dir.path().join("human.eml");
    std::fs::write(
        &human,
        "From: Jo <jo@acme.example>\r\nTo: anna@outreach.example\r\nSubject: Re: hello\r\n\
In-Reply-To: <cam.1.0@outreach.example>\r\n\r\nYes, interested! Can we talk on Tuesday?\r\n",
    )
    .expect("write");
    let corpus = corpus_dir();
    let files = [
        corpus.join("bounce_511_001.eml"),
        corpus.join("bounce_571_001.eml"),
        corpus.join("fbl_004.eml"),
        human.clone(),
    ];
    let args: Vec<&str> = files.iter().filter_map(|f| f.to_str()).collect();
    let (ok, out) = mail_classify(dir.path(), &args);
    assert!(ok, "{out}");
    assert!(out.contains("bounce (hard) 5.1.1 for somat@ciudad.com.ar"), "{out}");
    assert!(
        out.contains("bounce (block) 5.7.1 for stellamiranda@interlink.com.ar"),
        "{out}"
    );
    assert!(out.contains("complaint (abuse) from giribhantana@yahoo.com"), "{out}");
    assert!(out.contains("human reply: interested"), "{out}");
    assert!(out.contains("heuristic_replies@"), "{out}");

    let (ok, out) = mail_classify(dir.path(), &["--json", args[0]]);
    assert!(ok, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json[0]["host"]["kind"], "bounce", "{out}");
    assert_eq!(json[0]["host"]["class"], "hard", "{out}");
    assert_eq!(json[0]["host"]["status"], "5.1.1", "{out}");
}

#[test]
fn mail_classify_says_when_no_reply_classifier_is_installed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("plugins")).expect("plugins folder");
    let human = dir.path().join("human.eml");
    std::fs::write(
        &human,
        "From: jo@acme.example\r\nSubject: Re: hi\r\n\r\nsounds good\r\n",
    )
    .expect("write");
    let (ok, out) = mail_classify(dir.path(), &[human.to_str().expect("utf-8 path")]);
    assert!(ok, "{out}");
    assert!(out.contains("human reply"), "{out}");
    assert!(out.contains("no reply-classifier plugin"), "{out}");
}

/// A campaign of two leads in a fresh folder, step 0 sent to both by one
/// `cam cycle`; returns the folder, the store and the leads' (address,
/// Message-ID of step 0).
async fn sent_campaign() -> (
    tempfile::TempDir,
    std::sync::Arc<dyn cam::store::Store>,
    Vec<(String, String)>,
) {
    use cam::domain::campaign_def::CampaignDef;
    use cam::domain::model::{CampaignStatus, EmailState, NewLead};

    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("cam.toml"), cam::config::DEFAULT_CONFIG_TEXT).expect("config");
    let plugins = root.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    for name in [
        plugin::BASIC_ENRICH,
        plugin::WEIGHTED_SCORE,
        plugin::HEURISTIC_REPLIES,
        plugin::GUARDRAILS,
    ] {
        install_plugin(&plugins, name);
    }
    let store = cam::store::open(&format!("sqlite://{}", root.join("cam.db").display()))
        .await
        .expect("store");
    store.ensure_tenant(TENANT, "Test").await.expect("tenant");
    let mut def = CampaignDef::from_toml(cam::cli::demo::CAMPAIGN_TOML).expect("example campaign");
    def.name = CAMPAIGN.into();
    def.score_threshold = 0.0;
    def.plugins.lead_sources = vec![];
    def.plugins.enrichers = vec!["basic_enrich".into()];
    def.plugins.scorer = Some("weighted_score".into());
    def.plugins.reply_classifier = Some("heuristic_replies".into());
    def.plugins.decision_rules = vec!["guardrails".into()];
    let campaign = store
        .create_campaign(TENANT, &def.to_new_campaign().expect("valid"))
        .await
        .expect("campaign");
    let leads: Vec<NewLead> = (0..2)
        .map(|i| crate::support::sample_lead(i, &format!("person{i}@company{i}.example")))
        .collect();
    store.insert_leads(TENANT, campaign.id, &leads).await.expect("leads");
    store
        .set_campaign_status(TENANT, campaign.id, CampaignStatus::Running, "test", "test")
        .await
        .expect("start");
    crate::support::cam_cycle(root, CAMPAIGN, "2026-03-03T10:00:00Z");
    let emails = store
        .emails_in_state(TENANT, Some(campaign.id), EmailState::Sent, u32::MAX)
        .await
        .expect("emails");
    let mut sent = Vec::new();
    for lead in &leads {
        let found = store
            .lead_by_email(TENANT, &lead.email)
            .await
            .expect("store")
            .expect("lead");
        let email = emails
            .iter()
            .find(|e| e.email.lead_id == found.id && e.email.step == 0)
            .expect("step 0 sent");
        sent.push((lead.email.clone(), email.email.message_id.clone()));
    }
    (dir, store, sent)
}

const TENANT: &str = "default";
const CAMPAIGN: &str = "bounce-test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_block_does_not_suppress_the_address_and_a_complaint_does() {
    use cam::domain::lifecycle::LeadState;
    use cam::domain::model::SuppressionReason;

    let (dir, store, sent) = sent_campaign().await;
    let (blocked, blocked_id) = &sent[0];
    let (complainer, _) = &sent[1];
    let block = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.company0.example>\r\nTo: anna@outreach.example.com\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn.1@mx.company0.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nYour message was blocked.\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.company0.example\r\n\r\n\
Final-Recipient: rfc822; {blocked}\r\nAction: failed\r\nStatus: 5.7.1\r\n\
Diagnostic-Code: smtp; 550 5.7.1 Message rejected as spam\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {blocked_id}\r\nSubject: hello\r\n--B--\r\n"
    );
    let complaint = format!(
        "From: feedback@isp.example\r\nTo: abuse@outreach.example.com\r\nSubject: FW: hello\r\n\
Message-ID: <arf.1@isp.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n\
--B\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: isp/1.0\r\n\
Version: 1\r\nOriginal-Rcpt-To: <{complainer}>\r\n--B--\r\n"
    );
    let inbox = cam::mail::maildir::MaildirInbox::new(dir.path().join("inbox"));
    inbox.deliver("block.test", block.as_bytes()).expect("deliver");
    inbox.deliver("complaint.test", complaint.as_bytes()).expect("deliver");
    let report = crate::support::cam_cycle(dir.path(), CAMPAIGN, "2026-03-03T11:00:00Z");
    crate::support::assert_step_counts(
        &report,
        &[
            ("inbox", "stored", 2),
            ("classify", "bounce-block", 1),
            ("classify", "blocked", 1),
            ("classify", "complaint", 1),
        ],
    );
    let suppressions = store.list_suppressions(TENANT).await.expect("suppressions");
    let reason_of = |email: &str| suppressions.iter().find(|s| s.value == *email).map(|s| s.reason);
    assert_eq!(reason_of(blocked), None, "a 5.7.x block must not suppress the address");
    assert_eq!(reason_of(complainer), Some(SuppressionReason::Complaint));
    let lead = store
        .lead_by_email(TENANT, blocked)
        .await
        .expect("store")
        .expect("lead");
    assert_ne!(lead.state, LeadState::Dead, "a blocked lead is not dead");
}
