//! Hosted tenants on one PostgreSQL: each has its own sealed settings
//! (mailboxes, inboxes, alert channels, sender identity, unsubscribe key),
//! its own uploaded plugins under its own ceilings, and one worker serving
//! every tenant runs each campaign with its own tenant's everything.

use std::path::Path;

use cam::cli::demo::{CAMPAIGN_TOML, EXAMPLE_REPLIES, address_reply};
use cam::domain::campaign_def::CampaignDef;
use cam::domain::model::{CampaignStatus, EmailState};
use cam::mail::unsubscribe::{TokenError, UnsubscribeLinks};
use cam::store::Store;
use cam::store::testing::PostgresDatabase;
use cam::tenancy::{SealedSettings, ServerKeys};

use crate::mail_servers::{ImapServer, SmtpServer};
use crate::support::{Hooks, cam_for, cam_ok, header, install_plugin, plugin, webhook_receiver};

/// A Monday, inside the example campaign's send window.
const T0: &str = "2026-03-02T10:00:00Z";
const T1: &str = "2026-03-02T11:00:00Z";

/// One hosted tenant's servers and who it sends as.
struct TenantMail {
    id: &'static str,
    sender: &'static str,
    sender_name: &'static str,
    smtp: SmtpServer,
    imap: ImapServer,
    hook_port: u16,
    hooks: Hooks,
    leads: [&'static str; 2],
}

impl TenantMail {
    async fn start(
        id: &'static str,
        sender: &'static str,
        sender_name: &'static str,
        leads: [&'static str; 2],
    ) -> Self {
        let smtp = SmtpServer::start_with_auth(&format!("{id}-user"), &format!("{id}-smtp-pw")).await;
        let imap = ImapServer::start().await;
        let (hook_port, hooks) = webhook_receiver(0).await;
        TenantMail {
            id,
            sender,
            sender_name,
            smtp,
            imap,
            hook_port,
            hooks,
            leads,
        }
    }

    /// The settings file `cam tenants settings set` takes.
    fn settings(&self) -> String {
        format!(
            r#"
[sender]
name = "{name}"
address = "{sender}"

[[mail.smtp]]
mailbox = "*"
host = "127.0.0.1"
port = {smtp}
security = "plain"
username = "{id}-user"
password = "{id}-smtp-pw"
min_gap_ms = 0
jitter_ms = 0
timeout_secs = 5

[[mail.imap]]
name = "main"
host = "127.0.0.1"
port = {imap}
security = "plain"
username = "{imap_user}"
password = "{imap_pw}"

[alerts]
email = "ops@{id}.test"
webhook = {{ url = "http://127.0.0.1:{hook}/hook", secret = "{id}-hook-secret", backoff_ms = 10 }}
"#,
            name = self.sender_name,
            sender = self.sender,
            id = self.id,
            smtp = self.smtp.port,
            imap = self.imap.port,
            imap_user = self.imap.user,
            imap_pw = self.imap.password,
            hook = self.hook_port,
        )
    }
}

/// Creates the tenant's campaign (live, no mailboxes of its own: it sends as
/// the tenant's sender identity) with its two leads, running.
async fn campaign(store: &dyn Store, tenant: &TenantMail) {
    let mut def = CampaignDef::from_toml(CAMPAIGN_TOML).expect("example campaign");
    def.name = format!("{}-outreach", tenant.id);
    def.live = true;
    def.score_threshold = 0.0;
    def.mailboxes.clear();
    def.plugins.enrichers = vec![];
    def.plugins.scorer = Some("kv_counter".into());
    def.plugins.reply_classifier = Some("heuristic_replies".into());
    def.plugins.decision_rules = vec![];
    let campaign = store
        .create_campaign(tenant.id, &def.to_new_campaign().expect("valid"))
        .await
        .expect("campaign");
    let leads: Vec<_> = tenant
        .leads
        .iter()
        .enumerate()
        .map(|(i, email)| crate::support::sample_lead(i, email))
        .collect();
    store.insert_leads(tenant.id, campaign.id, &leads).await.expect("leads");
    store
        .set_campaign_status(tenant.id, campaign.id, CampaignStatus::Running, "test", "test")
        .await
        .expect("start");
}

fn write_config(root: &Path, database_url: &str) {
    std::fs::write(
        root.join("cam.toml"),
        format!(
            "database_url = \"{database_url}\"\nplugins_dir = \"plugins\"\n\n[hosted]\nserver_key_file = \"server.keys\"\n"
        ),
    )
    .expect("config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_runs_each_hosted_tenant_with_its_own_mail_plugins_kv_ceilings_and_alerts() {
    let Some(db) = PostgresDatabase::create("cam_hosted").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write_config(root, &db.url);
    cam_ok(root, &["migrate"]);
    assert!(cam_ok(root, &["tenants", "keys", "new", "--id", "k1"]).contains("k1"));
    let acme = TenantMail::start(
        "acme",
        "anna@acme.test",
        "Anna from Acme",
        ["ana@lead-a.test", "al@lead-a.test"],
    )
    .await;
    let beta = TenantMail::start(
        "beta",
        "bob@beta.test",
        "Bob, Beta",
        ["bea@lead-b.test", "bo@lead-b.test"],
    )
    .await;
    for tenant in [&acme, &beta] {
        let out = cam_ok(root, &["tenants", "create", tenant.id]);
        assert!(
            out.contains("dry-run only"),
            "a hosted tenant starts with sealed empty settings: {out}"
        );
        let file = root.join(format!("{}.toml", tenant.id));
        std::fs::write(&file, tenant.settings()).expect("settings");
        let out = cam_ok(
            root,
            &[
                "tenants",
                "settings",
                "set",
                tenant.id,
                "--file",
                file.to_str().expect("utf8"),
            ],
        );
        assert!(out.contains("1 sending mailbox"), "{out}");
        std::fs::remove_file(&file).expect("the file goes; the database keeps the settings");
        // Each tenant uploads its own plugins.
        let staging = root.join(format!("upload-{}", tenant.id));
        std::fs::create_dir_all(&staging).expect("staging folder");
        for built in [plugin::KV_COUNTER, plugin::HEURISTIC_REPLIES] {
            let wasm = install_plugin(&staging, built);
            cam_for(root, tenant.id, &["plugins", "upload", wasm.to_str().expect("utf8")]);
        }
    }
    // The hosting operator holds beta's plugins to 8 bytes of kv.
    let out = cam_ok(root, &["tenants", "ceilings", "beta", "--max-kv-bytes", "8"]);
    assert!(out.contains("kv 8 bytes"), "{out}");

    // Secrets are sealed: not in the database in the clear, not shown.
    let store = cam::store::open(&db.url).await.expect("store");
    for tenant in [&acme, &beta] {
        let stored = store.tenant_settings(tenant.id).await.expect("read").expect("stored");
        for secret in [format!("{}-smtp-pw", tenant.id), format!("{}-hook-secret", tenant.id)] {
            assert!(
                !stored.sealed.contains(&secret),
                "{secret} is in the database in the clear"
            );
        }
        let shown = cam_ok(root, &["tenants", "settings", "show", tenant.id]);
        assert!(!shown.contains("-pw") && !shown.contains("hook-secret"), "{shown}");
        assert!(shown.contains("\"***\"") && shown.contains(tenant.sender), "{shown}");
    }
    campaign(store.as_ref(), &acme).await;
    campaign(store.as_ref(), &beta).await;

    // One worker, every tenant.
    let out = cam_ok(root, &["run", "--all-tenants", "--once", "--now", T0]);
    assert!(out.contains("acme-outreach") && out.contains("beta-outreach"), "{out}");
    for (tenant, other) in [(&acme, &beta), (&beta, &acme)] {
        let received = tenant.smtp.wait_for(2).await;
        assert_eq!(
            received.len(),
            2,
            "{}'s two leads, through {}'s own server",
            tenant.id,
            tenant.id
        );
        for message in &received {
            assert!(message.authenticated, "logged in as {}", tenant.id);
            assert!(
                tenant.leads.contains(&message.rcpt_tos[0].as_str()),
                "{:?}",
                message.rcpt_tos
            );
            assert!(!other.leads.contains(&message.rcpt_tos[0].as_str()));
            let text = message.text();
            let from = header(&text, "From").expect("From");
            assert!(from.contains(tenant.sender), "{from}");
        }
        // Each tenant's kv is its own: one call each.
        let calls = store.kv_get(tenant.id, "kv_counter", "calls").await.expect("kv");
        assert_eq!(calls.as_deref(), Some(&b"1"[..]), "{}", tenant.id);
    }
    let from = |tenant: &TenantMail| {
        let text = tenant.smtp.received()[0].text();
        header(&text, "From").expect("From").to_string()
    };
    assert_eq!(from(&acme), "Anna from Acme <anna@acme.test>");
    assert_eq!(
        from(&beta),
        "\"Bob, Beta\" <bob@beta.test>",
        "a comma in a name is quoted"
    );
    // Beta's ceiling lowered its plugin's kv quota; acme's manifest quota stands.
    let reasons = |tenant: &'static str, email: &'static str| {
        let store = store.clone();
        async move {
            let lead = store.lead_by_email(tenant, email).await.expect("store").expect("lead");
            lead.score_reasons.join(" | ")
        }
    };
    let beta_reasons = reasons("beta", "bea@lead-b.test").await;
    assert!(beta_reasons.contains("> 8 allowed"), "{beta_reasons}");
    let acme_reasons = reasons("acme", "ana@lead-a.test").await;
    assert!(acme_reasons.contains("> 4096 allowed"), "{acme_reasons}");

    // Each tenant's links are signed with its own key: acme's key checks
    // acme's token, beta's key refuses it.
    let keys = ServerKeys::load(&root.join("server.keys")).expect("keys");
    let key_of = |tenant: &'static str| {
        let store = store.clone();
        let keys = keys.clone();
        async move {
            let stored = store.tenant_settings(tenant).await.expect("read").expect("stored");
            SealedSettings::open(&keys, tenant, &stored.sealed)
                .expect("opens")
                .unsubscribe_key
        }
    };
    let acme_text = acme.smtp.received()[0].text();
    let list = header(&acme_text, "List-Unsubscribe").expect("List-Unsubscribe");
    let token = list
        .split("/unsubscribe/")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("https link")
        .to_string();
    let request = UnsubscribeLinks::new(key_of("acme").await, None)
        .verify(&token)
        .expect("acme's key");
    assert_eq!(request.tenant, "acme");
    assert_eq!(
        UnsubscribeLinks::new(key_of("beta").await, None).verify(&token),
        Err(TokenError::BadSignature)
    );

    // A positive reply in acme's inbox alerts acme's channels only.
    let sent = store
        .emails_in_state("acme", None, EmailState::Sent, 10)
        .await
        .expect("emails");
    let to_ana = sent
        .iter()
        .find(|e| e.email.to_address == "ana@lead-a.test")
        .expect("ana's email");
    let raw = EXAMPLE_REPLIES
        .iter()
        .find(|(l, _)| *l == "interested")
        .expect("example")
        .1;
    let reply = address_reply(raw, "ana@lead-a.test", &to_ana.email.message_id)
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    acme.imap.append("INBOX", reply.as_bytes()).await;
    cam_ok(root, &["run", "--all-tenants", "--once", "--now", T1]);
    let hooks = acme.hooks.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 1, "acme's webhook got the alert");
    let (headers, body) = &hooks[0];
    let timestamp: i64 = headers["x-cam-timestamp"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    assert_eq!(
        headers["x-cam-signature"].to_str().expect("ascii"),
        cam::webhook::signature("acme-hook-secret", timestamp, body),
        "signed with acme's own secret"
    );
    assert!(String::from_utf8_lossy(body).contains("ana@lead-a.test"));
    assert!(
        beta.hooks.lock().expect("lock").is_empty(),
        "beta's webhook heard nothing"
    );
    let alert_mail = acme
        .smtp
        .received()
        .into_iter()
        .filter(|m| m.rcpt_tos == ["ops@acme.test"])
        .count();
    assert_eq!(
        alert_mail, 1,
        "the alert email went to acme's operator through acme's server"
    );
    assert_eq!(beta.smtp.count(), 2, "nothing more through beta's server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_keys_rotate_without_losing_a_tenants_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write_config(root, &format!("sqlite://{}", root.join("cam.db").display()));
    cam_ok(root, &["tenants", "keys", "new", "--id", "old"]);
    cam_ok(root, &["tenants", "create", "acme"]);
    let file = root.join("acme.toml");
    std::fs::write(
        &file,
        "[alerts]\nemail = \"ops@acme.test\"\nwebhook = { url = \"https://hooks.acme.test/x\", secret = \"s3cret\" }\n",
    )
    .expect("settings");
    let set = [
        "tenants",
        "settings",
        "set",
        "acme",
        "--file",
        file.to_str().expect("utf8"),
    ];
    cam_ok(root, &set);

    // A file that would read the worker's environment is refused by field.
    std::fs::write(
        &file,
        "[alerts]\nwebhook = { url = \"https://h.test/x\", secret = { env = \"HOME\" } }\n",
    )
    .expect("settings");
    let out = crate::support::cam_in(root, &set);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("alerts.webhook.secret") && err.contains("environment"),
        "{err}"
    );

    let out = cam_ok(root, &["tenants", "keys", "new", "--id", "new"]);
    assert!(out.contains("new, old") && out.contains("rekey"), "{out}");
    let out = cam_ok(root, &["tenants", "rekey"]);
    assert!(out.contains("re-sealed 1 tenant(s) with key new (acme)"), "{out}");
    assert!(cam_ok(root, &["tenants", "rekey"]).contains("re-sealed 0"));
    // The old key can go now; the settings, secret included, are intact.
    let keys = std::fs::read_to_string(root.join("server.keys")).expect("keys");
    let newest = keys.lines().next().expect("first line").to_string();
    std::fs::write(root.join("server.keys"), format!("{newest}\n")).expect("drop the old key");
    let shown = cam_ok(root, &["tenants", "settings", "show", "acme"]);
    assert!(shown.contains("ops@acme.test") && shown.contains("\"***\""), "{shown}");
    let store = cam::store::open(&format!("sqlite://{}", root.join("cam.db").display()))
        .await
        .expect("store");
    let stored = store.tenant_settings("acme").await.expect("read").expect("stored");
    let keys = ServerKeys::load(&root.join("server.keys")).expect("keys");
    let opened = SealedSettings::open(&keys, "acme", &stored.sealed).expect("opens with the new key alone");
    let secret = opened.settings.alerts.webhook.expect("webhook").secret;
    assert_eq!(secret.inline_value().map(|s| s.expose()), Some("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_hosted_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let block = readme
        .split("<!-- walkthrough:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- walkthrough:end -->").next())
        .expect("the walkthrough block");
    let script = block
        .trim()
        .strip_prefix("```sh")
        .and_then(|s| s.strip_suffix("```"))
        .expect("a sh code block");
    let dir = tempfile::tempdir().expect("tempdir");
    let examples = dir.path().join("examples");
    std::fs::create_dir_all(&examples).expect("examples");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/leads.csv"),
        examples.join("leads.csv"),
    )
    .expect("leads");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_cam"))
        .parent()
        .expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let port = crate::mail_servers::free_port();
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("PORT", port.to_string())
        .env_remove("CAM_DATABASE_URL")
        .env_remove("CAM_TENANT")
        .env_remove("CAM_CONFIG")
        .env_remove("CAM_SERVER_KEY_FILE")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the walkthrough failed:\n{stdout}\n{stderr}");
    // The last answer is the dry run: messages from the sender identity.
    let last = stdout.lines().last().expect("output");
    let run: serde_json::Value = serde_json::from_str(last).expect("the dry run's JSON");
    let messages = run["messages"].as_array().expect("messages");
    assert!(!messages.is_empty(), "{run:#}");
    for message in messages {
        assert_eq!(message["from"], "Anna from Acme <anna@acme.example>", "{message:#}");
        assert!(
            message["subject"].as_str().unwrap_or("").starts_with("Hello "),
            "{message:#}"
        );
    }
    assert!(stdout.contains("\"in_database\":true"), "the settings answer: {stdout}");
}
