//! Live mail over real TLS: the SMTP sender and the IMAP inbox against
//! aiosmtpd and Dovecot serving STARTTLS and implicit TLS with a certificate
//! from a throwaway CA made here (rcgen). What must work: a private CA given
//! as `ca_file`, AUTH only once encrypted. What must be refused: an untrusted
//! certificate, a certificate for another name, and a server that does not
//! offer STARTTLS when it was asked for — without sending anything, least of
//! all credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cam::config::SecretSource;
use cam::config::{ImapConfig, Security, SmtpConfig};
use cam::mail::imap::ImapInbox;
use cam::mail::smtp::SmtpSender;
use cam::mail::{InboxSource, OutgoingMessage, SendError, Sender};
use cam::store::Store;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::mail_servers::{AuthAttempt, ImapLogin, ImapServer, SmtpServer};

const TENANT: &str = "default";
const SMTP_USER: &str = "mailer";
const SMTP_PASSWORD: &str = "smtp-tls-secret";

/// A throwaway CA and two server certificates it signed, as PEM files in a
/// temp dir that also serves as the `base` for relative config paths:
/// `ca.pem`; `localhost.pem`/`localhost.key` for `localhost` and
/// `127.0.0.1`; `other.pem`/`other.key` for `mail.other.example` only.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new().prefix("cam-pki").tempdir().expect("temp dir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.distinguished_name.push(DnType::CommonName, "cam test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
        let issuer = Issuer::new(ca_params, ca_key);
        for (stem, names) in [
            ("localhost", &["localhost", "127.0.0.1"][..]),
            ("other", &["mail.other.example"][..]),
        ] {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut params = CertificateParams::new(names.clone()).expect("server cert params");
            params.distinguished_name.push(DnType::CommonName, names[0].clone());
            params.use_authority_key_identifier_extension = true;
            let key = KeyPair::generate().expect("server key");
            let cert = params.signed_by(&key, &issuer).expect("sign the server cert");
            std::fs::write(dir.path().join(format!("{stem}.pem")), cert.pem()).expect("write cert");
            std::fs::write(dir.path().join(format!("{stem}.key")), key.serialize_pem()).expect("write key");
        }
        std::fs::write(dir.path().join("smtp.password"), format!("{SMTP_PASSWORD}\n")).expect("write password");
        Pki { dir }
    }

    fn base(&self) -> &Path {
        self.dir.path()
    }

    /// The certificate and key for `localhost` / `127.0.0.1`.
    fn localhost(&self) -> (PathBuf, PathBuf) {
        (self.base().join("localhost.pem"), self.base().join("localhost.key"))
    }

    /// A certificate from the same CA for another name only.
    fn other(&self) -> (PathBuf, PathBuf) {
        (self.base().join("other.pem"), self.base().join("other.key"))
    }
}

// ---------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------

/// A sender config for `localhost:port`; `ca_file = "ca.pem"` (relative to
/// the PKI dir) when `trust_ca`, and AUTH with the test credentials when `auth`.
fn smtp_config(port: u16, security: &str, trust_ca: bool, auth: bool) -> SmtpConfig {
    let mut text = format!(
        "mailbox = \"*\"\nhost = \"localhost\"\nport = {port}\nsecurity = \"{security}\"\n\
         min_gap_ms = 0\njitter_ms = 0\nretry_backoff_ms = 10\nmax_attempts = 2\ntimeout_secs = 5\n"
    );
    if trust_ca {
        text.push_str("ca_file = \"ca.pem\"\n");
    }
    if auth {
        text.push_str(&format!(
            "username = \"{SMTP_USER}\"\npassword = {{ file = \"smtp.password\" }}\n"
        ));
    }
    toml::from_str(&text).expect("smtp config")
}

fn outgoing(n: usize) -> OutgoingMessage {
    let id = format!("<cam.tls.{n}@outreach.example>");
    OutgoingMessage {
        message_id: id.clone(),
        from: "anna@outreach.example".into(),
        to: "jo@example.com".into(),
        raw: format!(
            "From: anna@outreach.example\r\nTo: jo@example.com\r\nMessage-ID: {id}\r\nSubject: over TLS\r\n\r\nhello {n}\r\n"
        )
        .into_bytes(),
    }
}

/// Sends `outgoing(n)` and expects `Deferred`; returns its text.
async fn deferred(sender: &SmtpSender, n: usize) -> String {
    match sender.send(&outgoing(n)).await {
        Err(SendError::Deferred(why)) => why,
        other => panic!("expected Deferred, got {other:?}"),
    }
}

fn ok_attempt() -> AuthAttempt {
    AuthAttempt {
        mechanism: "PLAIN".into(),
        tls: true,
        success: true,
    }
}

#[tokio::test]
async fn smtp_starttls_with_a_private_ca_sends_and_logs_in_only_once_encrypted() {
    let pki = Pki::new();
    let (cert, key) = pki.localhost();

    // AUTH required, and (aiosmtpd) only advertised and accepted after STARTTLS.
    let server = SmtpServer::start_tls_with_auth(&cert, &key, false, SMTP_USER, SMTP_PASSWORD).await;
    let sender = SmtpSender::new(&[smtp_config(server.port, "starttls", true, true)], pki.base()).expect("sender");
    for n in 0..2 {
        sender
            .send(&outgoing(n))
            .await
            .unwrap_or_else(|e| panic!("send {n} over STARTTLS: {e}\n{}", server.log()));
    }
    sender.close().await;
    let got = server.wait_for(2).await;
    for (n, received) in got.iter().enumerate() {
        assert!(received.tls, "message {n} arrived in the clear: {received:?}");
        assert!(received.authenticated, "{received:?}");
        assert_eq!(received.mail_from, "anna@outreach.example");
        assert_eq!(received.rcpt_tos, ["jo@example.com"]);
        assert_eq!(received.raw, outgoing(n).raw, "byte for byte");
    }
    assert_eq!(
        server.auth_attempts(),
        [ok_attempt()],
        "one login, encrypted, on the reused connection"
    );

    // Without AUTH: STARTTLS is still required by the server and used.
    let server = SmtpServer::start_tls(&cert, &key, false).await;
    let sender = SmtpSender::new(&[smtp_config(server.port, "starttls", true, false)], pki.base()).expect("sender");
    sender
        .send(&outgoing(7))
        .await
        .unwrap_or_else(|e| panic!("send over STARTTLS: {e}\n{}", server.log()));
    let got = server.wait_for(1).await;
    assert!(got[0].tls && !got[0].authenticated, "{got:?}");
    assert_eq!(got[0].raw, outgoing(7).raw);
}

#[tokio::test]
async fn smtp_implicit_tls_with_a_private_ca_sends_and_logs_in() {
    let pki = Pki::new();
    let (cert, key) = pki.localhost();
    let server = SmtpServer::start_tls_with_auth(&cert, &key, true, SMTP_USER, SMTP_PASSWORD).await;
    let sender = SmtpSender::new(&[smtp_config(server.port, "tls", true, true)], pki.base()).expect("sender");
    sender
        .send(&outgoing(1))
        .await
        .unwrap_or_else(|e| panic!("send over implicit TLS: {e}\n{}", server.log()));
    sender.close().await;
    let got = server.wait_for(1).await;
    assert!(got[0].tls && got[0].authenticated, "{got:?}");
    assert_eq!(got[0].raw, outgoing(1).raw);
    assert_eq!(server.auth_attempts(), [ok_attempt()]);

    // An implicit-TLS client does not talk to a STARTTLS (plain-greeting) port.
    let starttls_server = SmtpServer::start_tls(&cert, &key, false).await;
    let sender = SmtpSender::new(&[smtp_config(starttls_server.port, "tls", true, false)], pki.base()).expect("sender");
    deferred(&sender, 2).await;
    assert!(starttls_server.received().is_empty());
}

#[tokio::test]
async fn smtp_refuses_an_untrusted_certificate_and_one_for_another_name() {
    let pki = Pki::new();
    let (cert, key) = pki.localhost();
    for implicit in [false, true] {
        let (security, what) = if implicit {
            ("tls", "implicit TLS")
        } else {
            ("starttls", "STARTTLS")
        };
        let server = SmtpServer::start_tls_with_auth(&cert, &key, implicit, SMTP_USER, SMTP_PASSWORD).await;
        // System roots only: the private CA is unknown.
        let sender = SmtpSender::new(&[smtp_config(server.port, security, false, true)], pki.base()).expect("sender");
        let why = deferred(&sender, 1).await;
        assert!(why.contains("TLS") && why.contains("certificate"), "{what}: {why}");
        assert!(server.received().is_empty(), "{what}");
        assert!(server.auth_attempts().is_empty(), "{what}: credentials were sent");
    }

    // Trusted CA, but the certificate names another host.
    let (other_cert, other_key) = pki.other();
    for implicit in [false, true] {
        let security = if implicit { "tls" } else { "starttls" };
        let server = SmtpServer::start_tls_with_auth(&other_cert, &other_key, implicit, SMTP_USER, SMTP_PASSWORD).await;
        let sender = SmtpSender::new(&[smtp_config(server.port, security, true, true)], pki.base()).expect("sender");
        let why = deferred(&sender, 2).await;
        // The CA is trusted: what fails is the name check.
        assert!(why.contains("not valid for name"), "{security}: {why}");
        assert!(server.received().is_empty());
        assert!(server.auth_attempts().is_empty(), "{security}: credentials were sent");
    }
}

#[tokio::test]
async fn smtp_starttls_refuses_to_downgrade_to_plain_text() {
    let pki = Pki::new();
    // Plain text, no STARTTLS, but AUTH offered in the clear: the lure.
    let server = SmtpServer::start_with_auth(SMTP_USER, SMTP_PASSWORD).await;
    let sender = SmtpSender::new(&[smtp_config(server.port, "starttls", true, true)], pki.base()).expect("sender");
    let why = deferred(&sender, 1).await;
    assert!(why.contains("STARTTLS"), "{why}");
    assert!(server.received().is_empty());
    assert!(server.auth_attempts().is_empty(), "credentials were sent in the clear");

    // Same without credentials: nothing goes out in the clear either.
    let server = SmtpServer::start().await;
    let sender = SmtpSender::new(&[smtp_config(server.port, "starttls", true, false)], pki.base()).expect("sender");
    let why = deferred(&sender, 2).await;
    assert!(why.contains("STARTTLS"), "{why}");
    assert!(server.received().is_empty());
}

// ---------------------------------------------------------------------------
// IMAP
// ---------------------------------------------------------------------------

/// An account on `localhost:port`; `ca_file = "ca.pem"` when `trust_ca`.
fn imap_config(name: &str, port: u16, security: Security, trust_ca: bool, imap: &ImapServer) -> ImapConfig {
    ImapConfig {
        name: name.into(),
        host: "localhost".into(),
        port: Some(port),
        security,
        username: imap.user.clone(),
        password: SecretSource {
            file: Some("imap.password".into()),
            ..SecretSource::default()
        },
        folders: vec!["INBOX".into()],
        ca_file: trust_ca.then(|| PathBuf::from("ca.pem")),
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

fn reply(n: usize) -> Vec<u8> {
    format!("From: jo@example.com\r\nSubject: re {n}\r\nMessage-ID: <tls-reply{n}@example.com>\r\n\r\nyes {n}\r\n")
        .into_bytes()
}

fn login(tls: bool, imap: &ImapServer) -> ImapLogin {
    ImapLogin {
        user: imap.user.clone(),
        tls,
    }
}

#[tokio::test]
async fn imap_reads_over_starttls_and_implicit_tls_with_a_private_ca() {
    let pki = Pki::new();
    let (cert, key) = pki.localhost();
    let imap = ImapServer::start_tls(&cert, &key).await;
    assert!(imap.tls_port != 0 && imap.tls_port != imap.port, "{imap:?}");
    std::fs::write(pki.base().join("imap.password"), &imap.password).expect("pw");
    let store = imap_store(pki.base()).await;
    // The helper logs in over plain TCP from loopback, which Dovecot allows.
    imap.append("INBOX", &reply(1)).await;

    for (name, port, security) in [
        ("starttls", imap.port, Security::Starttls),
        ("imaps", imap.tls_port, Security::Tls),
    ] {
        let config = imap_config(name, port, security, true, &imap);
        let inbox = ImapInbox::new(&[config], pki.base(), store.clone(), TENANT).expect("inbox");
        let fetched = inbox
            .fetch_new(10)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:#}\n{}", imap.logs()));
        assert_eq!(fetched.len(), 1, "{name}: {fetched:?}");
        assert_eq!(fetched[0].raw, reply(1), "{name}");
        assert_eq!(fetched[0].mailbox, format!("imap:{name}/INBOX"));
        inbox.acknowledge(&fetched[0].handle).await.expect("ack");
        let cursor = store
            .inbox_cursor(TENANT, &format!("imap:{name}/INBOX"))
            .await
            .expect("store")
            .expect("cursor");
        assert_eq!(cursor.last_uid, 1, "{name}");
        assert!(inbox.fetch_new(10).await.expect("second fetch").is_empty(), "{name}");
    }
    // The helper's plain login, then two logins (fetch + empty fetch) per
    // account, all four encrypted.
    let logins = imap.wait_for_logins(5).await;
    assert_eq!(
        logins,
        [
            login(false, &imap),
            login(true, &imap),
            login(true, &imap),
            login(true, &imap),
            login(true, &imap)
        ]
    );
}

#[tokio::test]
async fn imap_refuses_an_untrusted_certificate_and_a_server_without_starttls() {
    let pki = Pki::new();
    let (cert, key) = pki.localhost();
    let imap = ImapServer::start_tls(&cert, &key).await;
    std::fs::write(pki.base().join("imap.password"), &imap.password).expect("pw");
    let store = imap_store(pki.base()).await;
    imap.append("INBOX", &reply(1)).await;

    for (name, port, security) in [
        ("starttls", imap.port, Security::Starttls),
        ("imaps", imap.tls_port, Security::Tls),
    ] {
        // System roots only: the private CA is unknown.
        let config = imap_config(name, port, security, false, &imap);
        let inbox = ImapInbox::new(&[config], pki.base(), store.clone(), TENANT).expect("inbox");
        let err = format!("{:#}", inbox.fetch_new(10).await.expect_err("untrusted certificate"));
        assert!(err.contains("TLS"), "{name}: {err}");
        assert!(err.to_lowercase().contains("certificate"), "{name}: {err}");
    }
    // Then a trusted fetch: only it (and the helper's append) logged in.
    let trusted = imap_config("trusted", imap.port, Security::Starttls, true, &imap);
    let inbox = ImapInbox::new(&[trusted], pki.base(), store.clone(), TENANT).expect("inbox");
    assert_eq!(inbox.fetch_new(10).await.expect("trusted fetch").len(), 1);
    assert_eq!(imap.wait_for_logins(2).await, [login(false, &imap), login(true, &imap)]);

    // STARTTLS asked of a server that does not offer it: no login in the clear.
    let plain = ImapServer::start().await;
    assert_eq!(plain.tls_port, 0);
    plain.append("INBOX", &reply(2)).await;
    let config = imap_config("plain", plain.port, Security::Starttls, true, &plain);
    let inbox = ImapInbox::new(&[config], pki.base(), store.clone(), TENANT).expect("inbox");
    let err = format!("{:#}", inbox.fetch_new(10).await.expect_err("no STARTTLS"));
    assert!(err.contains("STARTTLS"), "{err}");
    // The helper's login is the only one (checked after a second helper
    // login, so a late log line would have shown up).
    plain.uidvalidity("INBOX").await;
    assert_eq!(
        plain.wait_for_logins(2).await,
        [login(false, &plain), login(false, &plain)]
    );
}

/// A fake SMTP server that offers STARTTLS, says yes to it and then never
/// starts the handshake (a middlebox eating the connection). Returns its port.
async fn stalling_starttls_server() -> u16 {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let _ = write.write_all(b"220 stall ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-stall\r\n250 STARTTLS\r\n",
                        "STARTTLS" => b"220 go ahead\r\n",
                        "QUIT" => b"221 bye\r\n",
                        _ => b"500 what\r\n",
                    };
                    let _ = write.write_all(reply).await;
                    if verb == "STARTTLS" {
                        // Keep the connection open and silent.
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn smtp_starttls_gives_up_on_a_server_that_stalls_the_handshake() {
    let pki = Pki::new();
    let port = stalling_starttls_server().await;
    let mut config = smtp_config(port, "starttls", true, false);
    config.timeout_secs = 1;
    config.max_attempts = 1;
    let sender = SmtpSender::new(&[config], pki.base()).expect("sender");
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(15), sender.send(&outgoing(1)))
        .await
        .expect("the send hung on a stalled STARTTLS handshake (timeout_secs = 1)");
    assert!(matches!(outcome, Err(SendError::Deferred(_))), "{outcome:?}");
}
