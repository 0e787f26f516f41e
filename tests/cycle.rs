//! `cam cycle` driven through several cycles on SQLite, with a clock moved
//! by `--now`: lead states, the outbox (headers, threading, unsubscribe),
//! replies (interested, unsubscribe, out-of-office, referral, bounce), the
//! single alert and the decision rule pausing the campaign.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cam::cli::demo::{CAMPAIGN_TOML, EXAMPLE_REPLIES, address_reply};
use cam::domain::campaign_def::CampaignDef;
use cam::domain::lifecycle::LeadState;
use cam::domain::model::{CampaignStatus, EmailState, Lead, NewLead, SuppressionReason};
use cam::mail::maildir::MaildirInbox;
use cam::store::Store;
use serde_json::Value;

use crate::support::{BuiltPlugin, header, install_plugin, plugin};

const TENANT: &str = "default";
const CAMPAIGN: &str = "cycle-test";
/// A Tuesday, 10:00 UTC: 11:00 in Berlin, inside the send window.
const T0: &str = "2026-03-03T10:00:00Z";

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Arc<dyn Store>,
    campaign_id: i64,
}

impl Setup {
    async fn new(leads: usize) -> Setup {
        Setup::with_scorer(leads, plugin::WEIGHTED_SCORE).await
    }

    /// The campaign with the built plugin `scorer` as its scorer.
    async fn with_scorer(leads: usize, scorer: BuiltPlugin) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("cam.toml"), cam::config::DEFAULT_CONFIG_TEXT).expect("config");
        let plugins = root.join("plugins");
        std::fs::create_dir_all(&plugins).expect("plugins dir");
        for name in [
            plugin::BASIC_ENRICH,
            scorer,
            plugin::HEURISTIC_REPLIES,
            plugin::GUARDRAILS,
        ] {
            install_plugin(&plugins, name);
        }
        // Judge bounces from 5 sent emails on, so one bounce in six pauses.
        let manifest = plugins.join("guardrails.toml");
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        std::fs::write(
            &manifest,
            text.replace("min_sent_for_bounce = 50", "min_sent_for_bounce = 5"),
        )
        .expect("manifest");

        let store = cam::store::open(&format!("sqlite://{}", root.join("cam.db").display()))
            .await
            .expect("store");
        store.ensure_tenant(TENANT, "Test").await.expect("tenant");
        let mut def = CampaignDef::from_toml(CAMPAIGN_TOML).expect("example campaign");
        def.name = CAMPAIGN.into();
        def.score_threshold = 0.0;
        def.plugins.lead_sources = vec![];
        def.plugins.enrichers = vec!["basic_enrich".into()];
        def.plugins.scorer = Some(scorer.crate_name.into());
        def.plugins.reply_classifier = Some("heuristic_replies".into());
        def.plugins.decision_rules = vec!["guardrails".into()];
        let campaign = store
            .create_campaign(TENANT, &def.to_new_campaign().expect("valid"))
            .await
            .expect("campaign");
        let leads: Vec<NewLead> = (0..leads)
            .map(|i| crate::support::sample_lead(i, &format!("person{i}@company{i}.example")))
            .collect();
        store.insert_leads(TENANT, campaign.id, &leads).await.expect("leads");
        store
            .set_campaign_status(TENANT, campaign.id, CampaignStatus::Running, "test", "test")
            .await
            .expect("start");
        Setup {
            _dir: dir,
            root,
            store,
            campaign_id: campaign.id,
        }
    }

    /// Runs `cam cycle` at `now` and returns its JSON report.
    fn cycle(&self, now: &str) -> Value {
        crate::support::cam_cycle(&self.root, CAMPAIGN, now)
    }

    async fn lead(&self, i: usize) -> Lead {
        self.store
            .lead_by_email(TENANT, &format!("person{i}@company{i}.example"))
            .await
            .expect("store")
            .expect("lead exists")
    }

    fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// The outbox file of step `step` (0-based) to lead `i`.
    async fn sent_message(&self, i: usize, step: u32) -> Option<String> {
        let lead = self.lead(i).await;
        let emails = self
            .store
            .emails_in_state(TENANT, Some(self.campaign_id), EmailState::Sent, u32::MAX)
            .await
            .expect("emails");
        let email = emails
            .into_iter()
            .find(|e| e.email.lead_id == lead.id && e.email.step == step)?;
        let path = cam::mail::outbox::OutboxSender::new(self.outbox()).path_for(&email.email.message_id);
        Some(std::fs::read_to_string(path).expect("outbox file"))
    }

    /// Drops example reply `name` into the inbox as an answer to step 0 of lead `i`.
    async fn reply(&self, name: &str, i: usize) {
        let lead = self.lead(i).await;
        let emails = self
            .store
            .emails_in_state(TENANT, Some(self.campaign_id), EmailState::Sent, u32::MAX)
            .await
            .expect("emails");
        let email = emails
            .into_iter()
            .find(|e| e.email.lead_id == lead.id && e.email.step == 0)
            .expect("step 0 sent");
        let raw = EXAMPLE_REPLIES
            .iter()
            .find(|(n, _)| *n == name)
            .expect("example reply")
            .1;
        let reply = address_reply(raw, &lead.fields.email, &email.email.message_id);
        MaildirInbox::new(self.root.join("inbox"))
            .deliver(&format!("{name}.{i}.test"), reply.as_bytes())
            .expect("deliver");
    }
}

/// The finished messages in an outbox. A sender still writing one has it
/// under `.eml.tmp` until it renames it, so those are not read.
fn eml_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| std::fs::read_to_string(e.path()).expect("read"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_move_leads_suppress_alert_once_and_follow_ups_thread_under_the_first_email() {
    let setup = Setup::new(6).await;

    // Cycle 1: every lead is enriched, scored and gets step 1.
    let first = setup.cycle(T0);
    assert_eq!(crate::support::step_count(&first, "send", "sent"), 6, "{first:#}");
    for i in 0..6 {
        assert_eq!(setup.lead(i).await.state, LeadState::Contacted);
        let message = setup.sent_message(i, 0).await.expect("step 1 in the outbox");
        assert!(
            header(&message, "Message-ID")
                .is_some_and(|id| id.starts_with("<cam.") && id.ends_with("@outreach.example.com>"))
        );
        assert!(
            header(&message, "In-Reply-To").is_none(),
            "a first email is not a reply"
        );
        let unsubscribe = header(&message, "List-Unsubscribe").expect("List-Unsubscribe");
        assert!(
            unsubscribe.contains("<mailto:") && unsubscribe.contains("<https://"),
            "{unsubscribe}"
        );
        assert_eq!(
            header(&message, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
    }

    // Replies arrive; cycle 2 an hour later applies them.
    setup.reply("interested", 0).await;
    setup.reply("unsubscribe", 1).await;
    setup.reply("out-of-office", 2).await;
    setup.reply("referral", 3).await;
    setup.reply("bounce-hard", 4).await;
    let second = setup.cycle("2026-03-03T11:00:00Z");
    assert_eq!(crate::support::step_count(&second, "inbox", "stored"), 5, "{second:#}");
    assert_eq!(setup.lead(0).await.state, LeadState::Interested);
    assert_eq!(setup.lead(1).await.state, LeadState::Lost);
    assert_eq!(setup.lead(4).await.state, LeadState::Dead);
    let suppressions = setup.store.list_suppressions(TENANT).await.expect("suppressions");
    let reason_of = |email: &str| suppressions.iter().find(|s| s.value == email).map(|s| s.reason);
    assert_eq!(
        reason_of("person1@company1.example"),
        Some(SuppressionReason::Unsubscribe)
    );
    assert_eq!(
        reason_of("person4@company4.example"),
        Some(SuppressionReason::HardBounce)
    );
    let deferred = setup
        .lead(2)
        .await
        .next_action_at
        .expect("the out-of-office lead stays scheduled");
    assert!(
        deferred.to_rfc3339().starts_with("2026-03-16"),
        "deferred to the return date, got {deferred}"
    );
    let referred = setup
        .store
        .lead_by_email(TENANT, "maria.keller@fjord-freight.example")
        .await
        .expect("store");
    assert!(referred.is_some(), "the referral became a lead");

    // Exactly one alert, also written to the outbox for the operator.
    let alerts = setup.store.list_alerts(TENANT, 100).await.expect("alerts");
    let positive: Vec<_> = alerts.iter().filter(|a| a.alert.kind == "positive-reply").collect();
    assert_eq!(positive.len(), 1, "{alerts:?}");
    let operator_mails = eml_files(&setup.outbox())
        .into_iter()
        .filter(|m| m.contains("To: operator@localhost"))
        .count();
    assert_eq!(operator_mails, 1);

    // One bounce in six sent: the guardrail pauses the campaign and says why.
    let campaign = setup
        .store
        .get_campaign(TENANT, setup.campaign_id)
        .await
        .expect("campaign");
    assert_eq!(campaign.status, CampaignStatus::Paused, "{second:#}");
    assert!(
        campaign.status_actor.starts_with("decision-rule:guardrails@"),
        "{}",
        campaign.status_actor
    );
    assert!(
        campaign.status_reason.to_lowercase().contains("bounce"),
        "{}",
        campaign.status_reason
    );
    assert_eq!(second["campaign_status"], "PAUSED");

    // The same interested reply delivered again raises no second alert.
    setup.reply("interested", 0).await;
    setup.cycle("2026-03-03T12:00:00Z");
    let alerts = setup.store.list_alerts(TENANT, 100).await.expect("alerts");
    assert_eq!(alerts.iter().filter(|a| a.alert.kind == "positive-reply").count(), 1);

    // Three days later (resumed by an operator), the silent lead gets step 2
    // threaded under step 1; the out-of-office one waits; stopped ones get nothing.
    setup
        .store
        .set_campaign_status(
            TENANT,
            setup.campaign_id,
            CampaignStatus::Running,
            "checked",
            "operator",
        )
        .await
        .expect("resume");
    setup.cycle("2026-03-06T10:00:00Z");
    let follow_up = setup.sent_message(5, 1).await.expect("step 2 to the silent lead");
    let first_id = header(&setup.sent_message(5, 0).await.expect("step 1"), "Message-ID")
        .expect("id")
        .to_string();
    assert_eq!(header(&follow_up, "In-Reply-To"), Some(first_id.as_str()));
    assert_eq!(header(&follow_up, "References"), Some(first_id.as_str()));
    for stopped in [0, 1, 2, 3, 4] {
        assert!(
            setup.sent_message(stopped, 1).await.is_none(),
            "lead {stopped} must not get step 2"
        );
    }

    // On the return date the out-of-office lead gets its step 2.
    setup
        .store
        .set_campaign_status(
            TENANT,
            setup.campaign_id,
            CampaignStatus::Running,
            "checked",
            "operator",
        )
        .await
        .expect("resume");
    setup.cycle("2026-03-16T10:00:00Z");
    assert!(
        setup.sent_message(2, 1).await.is_some(),
        "step 2 goes out after the return date"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_predicts_the_next_cycle_and_changes_nothing() {
    let setup = Setup::new(3).await;
    let out = crate::support::cam_ok(
        &setup.root,
        &["cycle", "--campaign", CAMPAIGN, "--dry-run", "--json", "--now", T0],
    );
    let preview: Value = serde_json::from_str(&out).expect("json");
    let mut predicted: Vec<String> = preview["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["to"].as_str().expect("to").to_string())
        .collect();
    predicted.sort();
    assert_eq!(predicted.len(), 3, "{preview:#}");
    assert!(
        eml_files(&setup.root.join("outbox")).is_empty(),
        "nothing written to the real outbox"
    );
    for i in 0..3 {
        assert_eq!(setup.lead(i).await.state, LeadState::New, "lead {i} did not move");
    }
    assert!(
        setup
            .store
            .recent_cycle_reports(TENANT, Some(setup.campaign_id), 5)
            .await
            .expect("reports")
            .is_empty()
    );
    // The real cycle at the same instant sends exactly what was predicted.
    let report = setup.cycle(T0);
    assert_eq!(crate::support::step_count(&report, "send", "sent"), 3, "{report:#}");
    let mut sent: Vec<String> = eml_files(&setup.root.join("outbox"))
        .iter()
        .map(|text| header(text, "To").expect("To").to_string())
        .collect();
    sent.sort();
    assert_eq!(sent, predicted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_campaign_sends_nothing_and_says_why() {
    let setup = Setup::new(2).await;
    setup
        .store
        .set_campaign_status(
            TENANT,
            setup.campaign_id,
            CampaignStatus::Paused,
            "holiday freeze",
            "operator",
        )
        .await
        .expect("pause");
    let report = setup.cycle(T0);
    assert_eq!(crate::support::step_count(&report, "send", "sent"), 0);
    let schedule = report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "schedule"))
        .expect("schedule");
    assert_eq!(schedule["status"], "skipped");
    assert!(
        schedule["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("holiday freeze")),
        "{schedule:#}"
    );
}

/// Starts `cam run` on the setup.
fn worker(setup: &Setup, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cam"))
        .arg("--config")
        .arg(setup.root.join("cam.toml"))
        .arg("run")
        .args(args)
        .env_remove("CAM_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cam run starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_runs_each_running_campaign_once_per_round_and_releases_its_lease() {
    let setup = Setup::new(3).await;
    let output = worker(&setup, &["--once", "--worker-id", "w1"])
        .wait_with_output()
        .expect("cam run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("worker stopped after 1 cycles"), "{stdout}");
    // The lease was released: another worker can take the campaign at once.
    let taken = setup
        .store
        .try_acquire_lease(TENANT, setup.campaign_id, "w2", std::time::Duration::from_secs(60))
        .await
        .expect("store");
    assert!(taken, "w1 left its lease behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_says_why_it_has_nothing_to_do_while_the_first_holds_the_lease() {
    let setup = Setup::new(1).await;
    let held = setup
        .store
        .try_acquire_lease(
            TENANT,
            setup.campaign_id,
            "first-worker",
            std::time::Duration::from_secs(600),
        )
        .await
        .expect("store");
    assert!(held);
    let output = worker(&setup, &["--once", "--worker-id", "second-worker"])
        .wait_with_output()
        .expect("cam run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("other workers hold their leases"), "{stdout}");
    assert!(stdout.contains("after 0 cycles"), "{stdout}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_worker_cleanly_and_releases_its_lease() {
    let setup = Setup::new(2).await;
    let child = worker(&setup, &["--interval", "3600", "--worker-id", "w1"]);
    // Wait for the first round to finish (its report is stored), then signal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let reports = setup
            .store
            .recent_cycle_reports(TENANT, Some(setup.campaign_id), 1)
            .await
            .expect("store");
        if !reports.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never finished a cycle"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("worker exits");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "exit {:?}: {stdout}", output.status);
    assert!(stdout.contains("worker stopped after 1 cycles"), "{stdout}");
    let taken = setup
        .store
        .try_acquire_lease(TENANT, setup.campaign_id, "w2", std::time::Duration::from_secs(60))
        .await
        .expect("store");
    assert!(taken, "the stopped worker left its lease behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_left_sending_by_a_crash_is_marked_uncertain_and_never_sent_again() {
    let setup = Setup::new(1).await;
    let lead = setup.lead(0).await;
    let email = cam::domain::model::NewOutboundEmail {
        campaign_id: setup.campaign_id,
        lead_id: lead.id,
        step: 0,
        mailbox: "anna@outreach.example.com".into(),
        to_address: lead.fields.email.clone(),
        subject: "hello".into(),
        body: "hi".into(),
        message_id: "<crashed@outreach.example.com>".into(),
    };
    let id = setup.store.queue_email(TENANT, &email).await.expect("queue").id();
    let crashed_at = chrono::DateTime::parse_from_rfc3339("2026-03-03T09:00:00Z")
        .expect("time")
        .to_utc();
    setup
        .store
        .mark_email_sending(TENANT, id, crashed_at)
        .await
        .expect("sending");

    let report = setup.cycle(T0);
    crate::support::assert_step_counts(&report, &[("send", "marked_uncertain", 1), ("send", "sent", 0)]);
    assert_eq!(
        setup.store.get_email(TENANT, id).await.expect("email").state,
        EmailState::Uncertain
    );
    assert!(eml_files(&setup.outbox()).is_empty(), "nothing may be re-sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_field_the_lead_lacks_fails_that_lead_instead_of_sending_a_placeholder() {
    let setup = Setup::new(1).await;
    let mut campaign = setup
        .store
        .get_campaign(TENANT, setup.campaign_id)
        .await
        .expect("campaign");
    campaign.config.steps[0].body = "Hi {{first_name}}, love your {{favourite_colour}} logo.".into();
    setup
        .store
        .update_campaign_config(TENANT, setup.campaign_id, &campaign.config)
        .await
        .expect("update");

    let report = setup.cycle(T0);
    assert_eq!(crate::support::step_count(&report, "send", "sent"), 0, "{report:#}");
    let schedule = report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "schedule"))
        .expect("step");
    let reason = schedule["failures"][0]["reason"].as_str().expect("a failure");
    assert!(reason.contains("favourite_colour"), "{reason}");
    assert_eq!(
        setup.lead(0).await.state,
        LeadState::Enriched,
        "the lead waits, uncontacted"
    );
    assert!(eml_files(&setup.outbox()).is_empty());
}

#[test]
fn cam_demo_tells_the_whole_story_in_a_fresh_folder_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("cam-demo");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cam"))
            .current_dir(dir.path())
            .arg("demo")
            .args(extra)
            .env_remove("CAM_DATABASE_URL")
            .env_remove("CAM_CONFIG")
            .output()
            .expect("cam demo runs")
    };
    let output = run(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What a newcomer must see: the plugins named, leads enriched and scored
    // by them, replies labelled by the classifier, the rule's decision with its
    // version, the alert, and the follow-ups.
    for expected in [
        "Plugins: ",
        "basic_enrich (enricher)",
        "weighted_score (scorer)",
        "heuristic_replies (reply-classifier)",
        "guardrails (decision-rule)",
        "enriched 295",
        "scored 295",
        "sent 32",
        "interested 1",
        "not-interested 1",
        "out-of-office 1",
        "bounce-hard 1",
        "CONTACTED→INTERESTED",
        "ALERT → operator",
        "DECISION: paused the campaign",
        "(decision-rule:guardrails@",
        "sent_step_2",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(target.join("cam.db").exists() && target.join("outbox").exists());
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(run(&["--force"]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_saved_into_the_inbox_folder_itself_is_reported_with_where_it_belongs() {
    let setup = Setup::new(1).await;
    std::fs::create_dir_all(setup.root.join("inbox")).expect("inbox");
    std::fs::write(setup.root.join("inbox/reply.eml"), EXAMPLE_REPLIES[0].1).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_cam"))
        .current_dir(&setup.root)
        .args(["cycle", "--campaign", CAMPAIGN, "--now", "2026-03-03T10:00:00Z"])
        .output()
        .expect("cam cycle runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("reply.eml is not delivered") && stderr.contains("inbox/new"),
        "the misplaced reply is reported with where to move it:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_logs_shows_what_the_plugins_log_tagged_with_name_and_version() {
    let run = |setup: &Setup, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cam"))
            .current_dir(&setup.root)
            .args(["cycle", "--campaign", CAMPAIGN, "--now", "2026-03-03T10:00:00Z"])
            .args(extra)
            .env_remove("RUST_LOG")
            .output()
            .expect("cam cycle runs")
    };
    let quiet = run(&Setup::new(2).await, &[]);
    assert!(quiet.status.success());
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("scored 2 leads"),
        "plugin lines stay out of a one-shot command's output unless asked for"
    );
    let setup = Setup::new(2).await;
    let shown = run(&setup, &["--plugin-logs"]);
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(shown.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("scored 2 leads"))
        .unwrap_or_else(|| panic!("the scorer's debug line is missing:\n{stderr}"));
    assert!(
        line.contains("plugin=\"weighted_score\"") && line.contains("version="),
        "{line}"
    );
}

/// A people API on a free local port serving `emails` two per page.
async fn people_api(emails: Vec<&'static str>) -> String {
    use axum::extract::Query;
    #[derive(serde::Deserialize)]
    struct Page {
        page: usize,
        limit: usize,
    }
    let app = axum::Router::new().route(
        "/v1/people",
        axum::routing::get(move |Query(q): Query<Page>| {
            let emails = emails.clone();
            async move {
                let items: Vec<Value> = emails
                    .iter()
                    .skip((q.page - 1) * q.limit)
                    .take(q.limit)
                    .map(|e| serde_json::json!({"email": e, "name": {"first": "Pat", "last": "Doe"}, "title": "CTO"}))
                    .collect();
                serde_json::json!({"data": {"items": items}}).to_string()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1/people")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_pages_a_lead_source_dedupes_drops_suppressed_and_keeps_its_cursor() {
    let setup = Setup::new(0).await;
    let base = people_api(vec![
        "Ana@Alpha.example",
        "ana@alpha.example",
        "blocked@beta.example",
        "carl@gamma.example",
        "dora@delta.example",
    ])
    .await;
    let plugins = setup.root.join("plugins");
    install_plugin(&plugins, plugin::HTTP_JSON);
    let manifest = std::fs::read_to_string(plugins.join("http_json.toml")).expect("manifest");
    std::fs::write(
        plugins.join("http_json.toml"),
        manifest
            .replace("https://api.example.com/v1/people", &base)
            .replace("max_page_size = 100", "max_page_size = 2")
            .replace("timeout_ms = 5000", "timeout_ms = 2000"),
    )
    .expect("manifest");
    let mut campaign = setup
        .store
        .get_campaign(TENANT, setup.campaign_id)
        .await
        .expect("campaign");
    campaign.config.plugins.lead_sources = vec!["http_json".into()];
    setup
        .store
        .update_campaign_config(TENANT, setup.campaign_id, &campaign.config)
        .await
        .expect("update");
    setup
        .store
        .add_suppression(
            TENANT,
            cam::domain::model::SuppressionKind::Address,
            "blocked@beta.example",
            SuppressionReason::Unsubscribe,
            "test",
        )
        .await
        .expect("suppress");

    let report = setup.cycle(T0);
    crate::support::assert_step_counts(
        &report,
        &[
            ("discover", "inserted", 3),
            ("discover", "duplicates", 1),
            ("discover", "suppressed", 1),
        ],
    );
    assert!(
        setup
            .store
            .lead_by_email(TENANT, "ana@alpha.example")
            .await
            .expect("store")
            .is_some()
    );
    let cursor = setup
        .store
        .source_cursor(TENANT, setup.campaign_id, "http_json")
        .await
        .expect("store");
    assert!(cursor.is_some(), "the cursor is kept for the next cycle");

    let again = setup.cycle("2026-03-03T11:00:00Z");
    assert_eq!(
        crate::support::step_count(&again, "discover", "inserted"),
        0,
        "{again:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_share_twenty_campaigns_without_touching_a_lead_twice() {
    const CAMPAIGNS: usize = 20;
    const LEADS: usize = 100;
    let Some(database) = crate::support::PostgresDatabase::create("cam_cycle_test").await else {
        return;
    };
    let url = database.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("cam.toml"), cam::config::DEFAULT_CONFIG_TEXT).expect("config");
    let plugins = root.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins");
    for name in [plugin::BASIC_ENRICH, plugin::WEIGHTED_SCORE, plugin::HEURISTIC_REPLIES] {
        install_plugin(&plugins, name);
    }
    let store = cam::store::open(&url).await.expect("store");
    store.ensure_tenant(TENANT, "Test").await.expect("tenant");
    let mut ids = Vec::new();
    for c in 0..CAMPAIGNS {
        let mut def = CampaignDef::from_toml(CAMPAIGN_TOML).expect("example campaign");
        def.name = format!("fleet-{c}");
        def.score_threshold = 0.0;
        def.daily_cap = 1_000;
        def.mailboxes = vec![cam::domain::campaign_def::MailboxDef {
            address: format!("sender{c}@outreach.example.com"),
            daily_cap: 1_000,
        }];
        def.plugins.lead_sources = vec![];
        def.plugins.enrichers = vec!["basic_enrich".into()];
        def.plugins.scorer = Some("weighted_score".into());
        def.plugins.reply_classifier = Some("heuristic_replies".into());
        def.plugins.decision_rules = vec![];
        let campaign = store
            .create_campaign(TENANT, &def.to_new_campaign().expect("valid"))
            .await
            .expect("campaign");
        let leads: Vec<NewLead> = (0..LEADS)
            .map(|i| NewLead {
                email: format!("p{i}@c{c}-company.example"),
                first_name: format!("P{i}"),
                time_zone: "Europe/Berlin".into(),
                title: "CTO".into(),
                source_plugin: "test".into(),
                source_version: "1".into(),
                ..NewLead::default()
            })
            .collect();
        store.insert_leads(TENANT, campaign.id, &leads).await.expect("leads");
        store
            .set_campaign_status(TENANT, campaign.id, CampaignStatus::Running, "test", "test")
            .await
            .expect("start");
        ids.push(campaign.id);
    }

    let workers: Vec<_> = (0..3)
        .map(|w| {
            Command::new(env!("CARGO_BIN_EXE_cam"))
                .arg("--config")
                .arg(root.join("cam.toml"))
                .args(["run", "--once", "--worker-id", &format!("w{w}")])
                .env("CAM_DATABASE_URL", &url)
                .env("CAM_NOW", T0)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("worker starts")
        })
        .collect();
    for worker in workers {
        let output = worker.wait_with_output().expect("worker ends");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    let reports = store.recent_cycle_reports(TENANT, None, 1_000).await.expect("reports");
    for id in &ids {
        assert!(
            reports.iter().any(|r| r.report.campaign_id == Some(*id)),
            "campaign {id} never ran"
        );
    }
    for record in &reports {
        for step in record.report.report["steps"].as_array().expect("steps") {
            // A second worker racing on the same lead or email would hit a
            // state conflict and show up here as a failure.
            assert_eq!(step["failed_total"], 0, "{step:#}");
        }
    }
    let mut sent = 0;
    for id in &ids {
        let emails = store
            .emails_in_state(TENANT, Some(*id), EmailState::Sent, u32::MAX)
            .await
            .expect("emails");
        let mut leads: Vec<i64> = emails.iter().map(|e| e.email.lead_id).collect();
        leads.sort_unstable();
        leads.dedup();
        assert_eq!(leads.len(), emails.len(), "one email per lead and step");
        sent += emails.len();
        let states = store.count_leads_by_state(TENANT, *id).await.expect("states");
        assert_eq!(states, vec![(LeadState::Contacted, LEADS as u64)], "campaign {id}");
    }
    assert_eq!(sent, CAMPAIGNS * LEADS);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_send_is_taken_over_and_nothing_is_sent_twice() {
    const LEADS: usize = 1_500;
    let setup = Setup::new(LEADS).await;
    let mut campaign = setup
        .store
        .get_campaign(TENANT, setup.campaign_id)
        .await
        .expect("campaign");
    campaign.config.daily_cap = 10_000;
    for mailbox in &mut campaign.config.mailboxes {
        mailbox.daily_cap = 10_000;
    }
    setup
        .store
        .update_campaign_config(TENANT, setup.campaign_id, &campaign.config)
        .await
        .expect("update");
    let start = |id: &str, now: &str| {
        Command::new(env!("CARGO_BIN_EXE_cam"))
            .arg("--config")
            .arg(setup.root.join("cam.toml"))
            .args(["run", "--once", "--lease-ttl", "2", "--worker-id", id])
            .env_remove("CAM_DATABASE_URL")
            .env("CAM_NOW", now)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("worker starts")
    };

    // Kill the first worker as soon as mail starts going out.
    let mut first = start("doomed", T0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while eml_files(&setup.outbox()).len() < 20 {
        assert!(std::time::Instant::now() < deadline, "the worker never started sending");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let written_before = eml_files(&setup.outbox()).len();

    // After the lease lapses, a second worker takes the campaign over.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let status = start("heir", "2026-03-03T11:00:00Z").wait().expect("second worker");
    assert!(status.success());

    let emails = |state| {
        let store = setup.store.clone();
        let id = setup.campaign_id;
        async move {
            store
                .emails_in_state(TENANT, Some(id), state, u32::MAX)
                .await
                .expect("emails")
        }
    };
    let sent = emails(EmailState::Sent).await;
    let uncertain = emails(EmailState::Uncertain).await;
    assert!(
        emails(EmailState::Sending).await.is_empty(),
        "an interrupted send must not stay SENDING"
    );
    assert!(emails(EmailState::Queued).await.is_empty(), "the heir sends the rest");
    assert!(
        uncertain.len() <= 1,
        "at most the one in flight is uncertain: {uncertain:?}"
    );
    assert_eq!(
        sent.len() + uncertain.len(),
        LEADS,
        "every lead got exactly one first email"
    );
    let files = eml_files(&setup.outbox()).len();
    assert!(
        files >= sent.len() && files <= sent.len() + uncertain.len(),
        "{files} files for {} sent",
        sent.len()
    );
    if written_before >= LEADS {
        eprintln!("note: the first worker finished before it was killed; the takeover path was not exercised");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_cycles_at_the_same_now_give_a_plugin_the_same_wasi_time_and_random() {
    // wasi-probe scores with what WASI's clocks and random told it; two
    // separate runs of the same cycle must store byte-identical reasons.
    let mut runs = Vec::new();
    for _ in 0..2 {
        let setup = Setup::with_scorer(2, plugin::WASI_PROBE).await;
        setup.cycle(T0);
        let lead = setup.lead(0).await;
        assert_eq!(lead.score, Some(0.5), "scored by wasi-probe: {lead:?}");
        runs.push(lead.score_reasons);
    }
    assert_eq!(runs[0], runs[1], "a replayed cycle gives the plugin the same WASI");
    let t0_ns = chrono::DateTime::parse_from_rfc3339(T0)
        .expect("T0")
        .timestamp_nanos_opt()
        .expect("in range");
    assert!(
        runs[0][0].starts_with(&format!("wall={}", t0_ns / 1_000_000_000)),
        "the wall clock is the cycle's: {:?}",
        runs[0]
    );
}
