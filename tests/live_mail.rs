//! Live mail end to end: `cam cycle` on a live campaign sends through a real
//! SMTP server (aiosmtpd) and reads replies from a real Dovecot over IMAP;
//! alerts go to the operator by SMTP and to a signed webhook; `cam serve`
//! answers one-click unsubscribes. Fault tests: the SMTP server down or
//! answering 4xx/5xx, the connection cut after DATA, IMAP dropping
//! mid-fetch, a UIDVALIDITY change — nothing lost, nothing sent twice.

use crate::support::{header, install_plugin, plugin, webhook_receiver};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cam::cli::demo::{CAMPAIGN_TOML, EXAMPLE_REPLIES, address_reply};
use cam::config::SecretSource;
use cam::config::{ImapConfig, Security, SmtpConfig};
use cam::domain::campaign_def::CampaignDef;
use cam::domain::lifecycle::LeadState;
use cam::domain::model::{CampaignStatus, EmailState, InboxCursor, NewInboundMessage, NewLead};
use cam::mail::imap::ImapInbox;
use cam::mail::smtp::SmtpSender;
use cam::mail::{InboxSource, OutgoingMessage, SendError, Sender};
use cam::store::Store;
use serde_json::Value;

use crate::mail_servers::{CuttingProxy, ImapServer, SmtpServer, free_port};

const TENANT: &str = "default";
const CAMPAIGN: &str = "live-test";
/// A Tuesday, 10:00 UTC: inside the send window.
const T0: &str = "2026-03-03T10:00:00Z";
const T1: &str = "2026-03-03T11:00:00Z";
const T2: &str = "2026-03-03T12:00:00Z";
const SMTP_USER: &str = "sender";
const SMTP_PASSWORD: &str = "smtp-secret";
const WEBHOOK_SECRET: &str = "hook-secret";

struct Live {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Arc<dyn Store>,
}

/// The `[mail]` and `[alerts]` part of a config for these servers.
fn mail_config(smtp_port: u16, imap: &ImapServer, webhook_port: u16) -> String {
    format!(
        r#"
[alerts]
email = "ops@operator.example"
webhook = {{ url = "http://127.0.0.1:{webhook_port}/hook", secret = {{ file = "webhook.secret" }}, backoff_ms = 10 }}

[mail]
unsubscribe_key_file = "unsubscribe.key"

[[mail.smtp]]
mailbox = "*"
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
username = "{SMTP_USER}"
password = {{ file = "smtp.password" }}
min_gap_ms = 0
jitter_ms = 0
retry_backoff_ms = 20
timeout_secs = 5
verp = true

[[mail.imap]]
name = "main"
host = "127.0.0.1"
port = {}
security = "plain"
username = "{}"
password = {{ file = "imap.password" }}
"#,
        imap.port, imap.user
    )
}

impl Live {
    async fn new(emails: &[&str], smtp_port: u16, imap: &ImapServer, webhook_port: u16) -> Live {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("smtp.password"), format!("{SMTP_PASSWORD}\n")).expect("pw");
        std::fs::write(root.join("imap.password"), &imap.password).expect("pw");
        std::fs::write(root.join("webhook.secret"), WEBHOOK_SECRET).expect("secret");
        let live = Live {
            _dir: dir,
            root: root.clone(),
            store: cam::store::open(&format!("sqlite://{}", root.join("cam.db").display()))
                .await
                .expect("store"),
        };
        live.write_config(smtp_port, imap, webhook_port);
        let plugins = root.join("plugins");
        std::fs::create_dir_all(&plugins).expect("plugins dir");
        for name in [plugin::BASIC_ENRICH, plugin::WEIGHTED_SCORE, plugin::HEURISTIC_REPLIES] {
            install_plugin(&plugins, name);
        }
        live.store.ensure_tenant(TENANT, "Test").await.expect("tenant");
        let mut def = CampaignDef::from_toml(CAMPAIGN_TOML).expect("example campaign");
        def.name = CAMPAIGN.into();
        def.live = true;
        def.score_threshold = 0.0;
        def.plugins.enrichers = vec!["basic_enrich".into()];
        def.plugins.scorer = Some("weighted_score".into());
        def.plugins.reply_classifier = Some("heuristic_replies".into());
        def.plugins.decision_rules = vec![];
        let campaign = live
            .store
            .create_campaign(TENANT, &def.to_new_campaign().expect("valid"))
            .await
            .expect("campaign");
        let leads: Vec<NewLead> = emails
            .iter()
            .enumerate()
            .map(|(i, email)| crate::support::sample_lead(i, email))
            .collect();
        live.store
            .insert_leads(TENANT, campaign.id, &leads)
            .await
            .expect("leads");
        live.store
            .set_campaign_status(TENANT, campaign.id, CampaignStatus::Running, "test", "test")
            .await
            .expect("start");
        live
    }

    fn write_config(&self, smtp_port: u16, imap: &ImapServer, webhook_port: u16) {
        let config = format!(
            "database_url = \"sqlite://cam.db\"\nplugins_dir = \"plugins\"\n{}",
            mail_config(smtp_port, imap, webhook_port)
        );
        std::fs::write(self.root.join("cam.toml"), config).expect("config");
    }

    fn cam(&self, args: &[&str]) -> std::process::Output {
        crate::support::cam_in(&self.root, args)
    }

    /// Runs `cam cycle` at `now` and returns its JSON report.
    fn cycle(&self, now: &str) -> Value {
        crate::support::cam_cycle(&self.root, CAMPAIGN, now)
    }

    async fn email_to(&self, address: &str) -> cam::domain::model::OutboundEmail {
        let lead = self
            .store
            .lead_by_email(TENANT, address)
            .await
            .expect("store")
            .expect("lead");
        for state in [
            EmailState::Sent,
            EmailState::Queued,
            EmailState::Failed,
            EmailState::Uncertain,
            EmailState::Sending,
        ] {
            let emails = self
                .store
                .emails_in_state(TENANT, None, state, 1000)
                .await
                .expect("emails");
            if let Some(email) = emails.into_iter().find(|e| e.email.lead_id == lead.id) {
                return email;
            }
        }
        panic!("no email for {address}");
    }

    async fn lead_state(&self, address: &str) -> LeadState {
        self.store
            .lead_by_email(TENANT, address)
            .await
            .expect("store")
            .expect("lead")
            .state
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_campaign_sends_through_smtp_reads_replies_over_imap_and_alerts_once() {
    let smtp = SmtpServer::start_with_auth(SMTP_USER, SMTP_PASSWORD).await;
    let imap = ImapServer::start().await;
    let (hook_port, hooks) = webhook_receiver(1).await;
    let leads = [
        "ana@acme.example",
        "ben@bolt.example",
        "tempfail.cy@corp.example",
        "reject.dan@corp.example",
        "eve@echo.example",
    ];
    let live = Live::new(&leads, smtp.port, &imap, hook_port).await;

    // Cycle 1: the first step goes out through SMTP.
    let report = live.cycle(T0);
    assert_eq!(report["dry_run"], false, "{report:#}");
    assert_eq!(crate::support::step_count(&report, "send", "sent"), 4, "{report:#}");
    let received = smtp.wait_for(4).await;
    assert_eq!(received.len(), 4, "exactly one copy each, the 4xx one after retries");
    let rejected = live.email_to("reject.dan@corp.example").await;
    assert_eq!(rejected.state, EmailState::Failed);
    assert!(rejected.error.as_deref().unwrap_or("").contains("550"), "{rejected:?}");
    assert!(
        !received
            .iter()
            .any(|r| r.rcpt_tos.iter().any(|t| t.starts_with("reject")))
    );

    let to_ana = received
        .iter()
        .find(|r| r.rcpt_tos == ["ana@acme.example"])
        .expect("ana's email arrived");
    let text = to_ana.text();
    let message_id = header(&text, "Message-ID").expect("Message-ID").to_string();
    assert!(
        text.ends_with("\r\n") && !text.ends_with("\r\n\r\n"),
        "arrives byte for byte"
    );
    let stored = live.email_to("ana@acme.example").await;
    assert_eq!(stored.state, EmailState::Sent);
    assert_eq!(
        stored.email.message_id, message_id,
        "the stored Message-ID is the one sent"
    );
    assert!(
        message_id.ends_with("@outreach.example.com>"),
        "on the campaign's domain: {message_id}"
    );
    let unsubscribe = header(&text, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.contains("<mailto:") && unsubscribe.contains("<https://"),
        "{unsubscribe}"
    );
    assert_eq!(
        header(&text, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        to_ana.mail_from.contains("+cam-"),
        "VERP envelope sender: {}",
        to_ana.mail_from
    );

    // Replies arrive in the IMAP mailbox.
    let reply = |label: &str, lead: &str, id: &str| {
        let raw = EXAMPLE_REPLIES.iter().find(|(l, _)| *l == label).expect("example").1;
        address_reply(raw, lead, id)
            .replace('\n', "\r\n")
            .replace("\r\r\n", "\r\n")
    };
    imap.append("INBOX", reply("interested", "ana@acme.example", &message_id).as_bytes())
        .await;
    let ben_id = live.email_to("ben@bolt.example").await.email.message_id;
    imap.append("INBOX", reply("bounce-hard", "ben@bolt.example", &ben_id).as_bytes())
        .await;
    let eve_token_subject = {
        let to_eve = received
            .iter()
            .find(|r| r.rcpt_tos == ["eve@echo.example"])
            .expect("eve");
        let text = to_eve.text();
        let mailto = header(&text, "List-Unsubscribe").expect("header").to_string();
        let start = mailto.find("subject=").expect("subject") + "subject=".len();
        mailto[start..].split('>').next().expect("token").replace("%20", " ")
    };
    imap.append(
        "INBOX",
        format!(
            "From: eve@echo.example\r\nTo: anna@outreach.example.com\r\nSubject: {eve_token_subject}\r\n\
             Message-ID: <unsub-eve@echo.example>\r\n\r\nplease stop\r\n"
        )
        .as_bytes(),
    )
    .await;
    for n in 0..3 {
        imap.append("INBOX", soft_bounce(n, "tempfail.cy@corp.example").as_bytes())
            .await;
    }
    imap.append(
        "INBOX",
        b"From: stranger@nowhere.example\r\nSubject: hello?\r\nMessage-ID: <stranger@nowhere.example>\r\n\r\nwho are you\r\n",
    )
    .await;

    // Cycle 2: the inbox step reads them, classify labels them, alert fires.
    let report = live.cycle(T1);
    assert_eq!(crate::support::step_count(&report, "inbox", "stored"), 7, "{report:#}");
    assert_eq!(
        crate::support::step_count(&report, "inbox", "unmatched"),
        1,
        "the stranger is kept, unmatched"
    );
    assert_eq!(
        crate::support::step_count(&report, "inbox", "unsubscribed_by_mail"),
        1,
        "{report:#}"
    );
    assert_eq!(live.lead_state("ana@acme.example").await, LeadState::Interested);
    assert_eq!(live.lead_state("ben@bolt.example").await, LeadState::Dead);
    assert!(
        live.store
            .is_suppressed(TENANT, "ben@bolt.example")
            .await
            .expect("store")
    );
    assert!(
        live.store
            .is_suppressed(TENANT, "eve@echo.example")
            .await
            .expect("store")
    );
    let unmatched = live.store.unmatched_inbound(TENANT, 10).await.expect("store");
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0].message.from_address, "stranger@nowhere.example");
    assert!(unmatched[0].message.mailbox.starts_with("imap:main/INBOX"));
    let listed = live.cam(&["mail", "unmatched"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("stranger@nowhere.example"));
    crate::support::assert_step_counts(&report, &[("alert", "raised", 1), ("alert", "delivered", 1)]);

    // The operator got one email, the webhook one signed delivery (after a 503).
    let all = smtp.wait_for(5).await;
    let alerts: Vec<_> = all.iter().filter(|r| r.rcpt_tos == ["ops@operator.example"]).collect();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].text().contains("ana@acme.example"));
    let seen = hooks.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "one 503, then one accepted retry");
    for (headers, body) in &seen {
        let timestamp: i64 = headers["x-cam-timestamp"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number");
        assert_eq!(
            headers["x-cam-signature"].to_str().expect("ascii"),
            cam::webhook::signature(WEBHOOK_SECRET, timestamp, body)
        );
        let json: Value = serde_json::from_slice(body).expect("JSON body");
        assert_eq!(json["alert"]["lead"], "ana@acme.example");
    }
    let logged = live.store.list_alerts(TENANT, 10).await.expect("alerts");
    assert_eq!(logged.len(), 1);
    let attempts = live.store.alert_attempts(TENANT, logged[0].id).await.expect("log");
    let summary: Vec<(String, bool)> = attempts
        .iter()
        .map(|a| (a.attempt.channel.clone(), a.attempt.ok))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("email".to_string(), true),
            ("webhook".to_string(), false),
            ("webhook".to_string(), true)
        ]
    );

    // Cycle 3: nothing new is read twice, nobody is alerted twice.
    let report = live.cycle(T2);
    assert_eq!(crate::support::step_count(&report, "inbox", "stored"), 0, "{report:#}");
    assert_eq!(crate::support::step_count(&report, "alert", "raised"), 0);
    assert_eq!(hooks.lock().expect("lock").len(), 2);
    assert_eq!(
        smtp.received()
            .iter()
            .filter(|r| r.rcpt_tos == ["ops@operator.example"])
            .count(),
        1
    );
    // The messages stay unread in the mailbox for humans.
    assert_eq!(imap.messages("INBOX").await.len(), 7);
    assert_eq!(
        live.store
            .inbox_cursor(TENANT, "imap:main/INBOX")
            .await
            .expect("store")
            .map(|c| c.last_uid),
        Some(7)
    );
}

/// A delivery status notification: mailbox full (4.2.2), a soft bounce.
fn soft_bounce(n: usize, recipient: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.corp.example>\r\nTo: anna@outreach.example.com\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{n}@mx.corp.example>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mailbox is full.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.corp.example\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 4.2.2\r\n\
         Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\r\n\r\n--B--\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_or_cut_after_data_loses_nothing_and_sends_nothing_twice() {
    let smtp = SmtpServer::start_with_auth(SMTP_USER, SMTP_PASSWORD).await;
    let imap = ImapServer::start().await;
    let (hook_port, _hooks) = webhook_receiver(1).await;
    let leads = ["ana@acme.example", "cut.ben@corp.example", "datareject.cy@corp.example"];
    let down = free_port();
    let live = Live::new(&leads, down, &imap, hook_port).await;

    // The server is down: every email stays queued, with the reason.
    let report = live.cycle(T0);
    crate::support::assert_step_counts(&report, &[("send", "sent", 0), ("send", "deferred", 3)]);
    let mut reasons = Vec::new();
    for lead in leads {
        let email = live.email_to(lead).await;
        assert_eq!(email.state, EmailState::Queued, "{email:?}");
        reasons.extend(email.error);
    }
    assert!(
        !reasons.is_empty() && reasons.iter().all(|r| r.contains("cannot connect")),
        "{reasons:?}"
    );

    // Back up: each goes out once; the cut one is UNCERTAIN, the refused FAILED.
    live.write_config(smtp.port, &imap, hook_port);
    let report = live.cycle(T1);
    crate::support::assert_step_counts(&report, &[("send", "sent", 1), ("send", "uncertain", 1)]);
    let cut = live.email_to("cut.ben@corp.example").await;
    assert_eq!(cut.state, EmailState::Uncertain, "{cut:?}");
    let refused = live.email_to("datareject.cy@corp.example").await;
    assert_eq!(refused.state, EmailState::Failed);
    assert!(refused.error.as_deref().unwrap_or("").contains("554"), "{refused:?}");
    assert_eq!(
        smtp.wait_for(2).await.len(),
        2,
        "ana's and the cut one reached the server"
    );

    // Later cycles never send the uncertain one again; the operator sees it.
    live.cycle(T2);
    assert_eq!(smtp.received().len(), 2);
    let listed = live.cam(&["mail", "uncertain"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("cut.ben@corp.example"), "{text}");
    let resolved = live.cam(&["mail", "resolve", &cut.id.to_string(), "--sent"]);
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    assert_eq!(live.email_to("cut.ben@corp.example").await.state, EmailState::Sent);
}

fn smtp_config(port: u16) -> SmtpConfig {
    toml::from_str(&format!(
        "mailbox = \"*\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nmin_gap_ms = 0\njitter_ms = 0\n\
         retry_backoff_ms = 10\ntimeout_secs = 5\n"
    ))
    .expect("config")
}

fn outgoing(to: &str, n: usize) -> OutgoingMessage {
    OutgoingMessage {
        message_id: format!("<cam.test.{n}@outreach.example>"),
        from: "anna@outreach.example".into(),
        to: to.into(),
        raw: format!("From: anna@outreach.example\r\nTo: {to}\r\nMessage-ID: <cam.test.{n}@outreach.example>\r\nSubject: hi\r\n\r\nhello {n}\r\n")
            .into_bytes(),
    }
}

#[tokio::test]
async fn the_smtp_sender_reuses_one_connection_and_sorts_failures_by_what_they_mean() {
    let smtp = SmtpServer::start().await;
    // A pass-through proxy counts the TCP connections.
    let proxy = CuttingProxy::start(smtp.port, usize::MAX).await;
    let sender = SmtpSender::new(&[smtp_config(proxy.port)], Path::new(".")).expect("sender");
    for n in 0..5 {
        sender.send(&outgoing("jo@example.com", n)).await.expect("accepted");
    }
    assert_eq!(proxy.connections(), 1, "five messages over one reused connection");
    assert!(matches!(
        sender.send(&outgoing("reject.x@example.com", 9)).await,
        Err(SendError::NotSent(reply)) if reply.contains("550")
    ));
    // Two 451s, then accepted, within the three tries.
    sender
        .send(&outgoing("tempfail.x@example.com", 10))
        .await
        .expect("after retries");
    assert!(matches!(
        sender.send(&outgoing("cut.x@example.com", 11)).await,
        Err(SendError::Uncertain(_))
    ));
    // After a cut connection the next message reconnects.
    sender.send(&outgoing("jo@example.com", 12)).await.expect("reconnected");
    assert_eq!(smtp.wait_for(8).await.len(), 8);
    sender.close().await;

    let nobody = SmtpSender::new(&[smtp_config(free_port())], Path::new(".")).expect("sender");
    assert!(matches!(
        nobody.send(&outgoing("jo@example.com", 13)).await,
        Err(SendError::Deferred(why)) if why.contains("cannot connect")
    ));
}

fn imap_config(port: u16, imap: &ImapServer) -> ImapConfig {
    ImapConfig {
        name: "main".into(),
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::Plain,
        username: imap.user.clone(),
        password: SecretSource {
            file: Some("imap.password".into()),
            ..SecretSource::default()
        },
        folders: vec!["INBOX".into()],
        ca_file: None,
        timeout_secs: 5,
    }
}

async fn imap_store(dir: &Path) -> Arc<dyn Store> {
    let store = cam::store::open(&format!("sqlite://{}", dir.join("cam.db").display()))
        .await
        .expect("store");
    store.ensure_tenant(TENANT, "Test").await.expect("tenant");
    store
}

fn message(n: usize, body_bytes: usize) -> Vec<u8> {
    format!(
        "From: person{n}@example.com\r\nSubject: reply {n}\r\nMessage-ID: <reply{n}@example.com>\r\n\r\n{}\r\n",
        "x".repeat(body_bytes)
    )
    .into_bytes()
}

/// Stores what the inbox hands out and acknowledges it, as the inbox step
/// does; returns (newly stored, already stored).
async fn drain(inbox: &ImapInbox, store: &Arc<dyn Store>, only: Option<&[usize]>) -> (usize, usize) {
    let (mut new, mut old) = (0, 0);
    for (i, fetched) in inbox.fetch_new(100).await.expect("fetch").into_iter().enumerate() {
        if only.is_some_and(|only| !only.contains(&i)) {
            continue;
        }
        let parsed = cam::mail::message::parse(&fetched.raw).expect("parses");
        let insertion = store
            .insert_inbound(
                TENANT,
                &NewInboundMessage {
                    mailbox: fetched.mailbox.clone(),
                    message_id: parsed.message_id,
                    in_reply_to: None,
                    references: vec![],
                    from_address: parsed.from,
                    subject: parsed.subject,
                    body_text: parsed.body_text,
                    raw: fetched.raw.clone(),
                    received_at: chrono::Utc::now(),
                },
            )
            .await
            .expect("stored");
        if insertion.is_new() {
            new += 1;
        } else {
            old += 1;
        }
        inbox.acknowledge(&fetched.handle).await.expect("ack");
    }
    (new, old)
}

#[tokio::test]
async fn imap_advances_only_past_stored_messages_and_survives_drops_and_uidvalidity_changes() {
    let imap = ImapServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("imap.password"), &imap.password).expect("pw");
    let store = imap_store(dir.path()).await;
    for n in 0..5 {
        imap.append("INBOX", &message(n, 20_000)).await;
    }

    // The server drops the connection in the middle of the fetch: an
    // error, nothing stored, the cursor untouched.
    let proxy = CuttingProxy::start(imap.port, 40_000).await;
    let through_proxy =
        ImapInbox::new(&[imap_config(proxy.port, &imap)], dir.path(), store.clone(), TENANT).expect("inbox");
    let err = through_proxy.fetch_new(100).await.expect_err("cut mid-fetch");
    assert!(format!("{err:#}").contains("imap:main/INBOX"), "{err:#}");
    assert_eq!(
        store.inbox_cursor(TENANT, "imap:main/INBOX").await.expect("store"),
        None
    );

    // The link recovers; only messages 0, 1 and 3 get stored this time:
    // the cursor stops at 2, so 3 and 5 come again.
    proxy.set_cut_after(None);
    // A fetch takes the oldest messages first, at most `limit` of them.
    let oldest = through_proxy.fetch_new(2).await.expect("fetch");
    let uids: Vec<&str> = oldest
        .iter()
        .map(|m| m.handle.rsplit('\n').next().expect("uid"))
        .collect();
    assert_eq!(uids, ["1", "2"]);
    assert_eq!(drain(&through_proxy, &store, Some(&[0, 1, 3])).await, (3, 0));
    let cursor = store
        .inbox_cursor(TENANT, "imap:main/INBOX")
        .await
        .expect("store")
        .expect("cursor");
    assert_eq!(cursor.last_uid, 2);
    let direct = ImapInbox::new(&[imap_config(imap.port, &imap)], dir.path(), store.clone(), TENANT).expect("inbox");
    assert_eq!(
        drain(&direct, &store, None).await,
        (2, 1),
        "3 again (already stored), 4 and 5 new"
    );
    assert_eq!(drain(&direct, &store, None).await, (0, 0), "nothing left");

    // The folder is rebuilt with a new UIDVALIDITY: read again from the
    // start, no duplicates, the one new message stored.
    let old_validity = imap.uidvalidity("INBOX").await;
    imap.recreate_folder("INBOX").await;
    for n in 0..6 {
        imap.append("INBOX", &message(n, 100)).await;
    }
    assert_ne!(imap.uidvalidity("INBOX").await, old_validity);
    assert_eq!(drain(&direct, &store, None).await, (1, 5));
    let cursor = store
        .inbox_cursor(TENANT, "imap:main/INBOX")
        .await
        .expect("store")
        .expect("cursor");
    assert_eq!(
        cursor,
        InboxCursor {
            uid_validity: imap.uidvalidity("INBOX").await,
            last_uid: 6
        }
    );
}

#[tokio::test]
async fn cam_serve_unsubscribes_on_post_only_and_idempotently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("cam.toml"), cam::config::DEFAULT_CONFIG_TEXT).expect("config");
    let store = imap_store(root).await;
    let key = cam::mail::unsubscribe::UnsubscribeLinks::load_or_create_key(&root.join("unsubscribe.key")).expect("key");
    let links = cam::mail::unsubscribe::UnsubscribeLinks::new(key, None);
    let link = links.links(TENANT, "jo@acme.example", "anna@outreach.example").https;
    let path = link.trim_start_matches("https://outreach.example");

    let port = free_port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_cam"))
        .arg("--config")
        .arg(root.join("cam.toml"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("CAM_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("cam serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "cam serve did not come up");

    // A link scanner's GET shows a page and unsubscribes nobody.
    let page = client.get(format!("{base}{path}")).send().await.expect("GET");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("method=\"post\""));
    assert!(!store.is_suppressed(TENANT, "jo@acme.example").await.expect("store"));

    // The one-click POST suppresses; a repeat is harmless.
    for _ in 0..2 {
        let done = client
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("POST");
        assert_eq!(done.status(), 200);
    }
    assert!(store.is_suppressed(TENANT, "jo@acme.example").await.expect("store"));
    assert_eq!(store.list_suppressions(TENANT).await.expect("store").len(), 1);

    // A token signed with another key is refused with a clear page.
    let forger = cam::mail::unsubscribe::UnsubscribeLinks::new(vec![9; 32], None);
    let forged = forger.links(TENANT, "ceo@acme.example", "anna@outreach.example").https;
    let forged = forged.trim_start_matches("https://outreach.example");
    let refused = client.post(format!("{base}{forged}")).send().await.expect("POST");
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.expect("body").contains("not valid"));
    assert!(!store.is_suppressed(TENANT, "ceo@acme.example").await.expect("store"));
    let _ = server.kill();
    let _ = server.wait();
}
