//! Real mail servers on loopback, for the SMTP sender and IMAP inbox tests.
//!
//! - [`SmtpServer`]: `tests/servers/smtp_server.py` (aiosmtpd), one process per
//!   server; every accepted message lands in a temp dir and is read back with
//!   [`SmtpServer::received`]. Faults are chosen by the recipient's local part:
//!   `tempfail*` (451 twice per address, then accepted), `reject*` (550 at RCPT),
//!   `datareject*` (554 after DATA), `cut*` (stored, then the connection is closed
//!   with no reply to DATA). [`SmtpServer::start_tls`] serves STARTTLS (required)
//!   or implicit TLS with a given certificate.
//! - [`ImapServer`]: a throwaway Dovecot with one user and a Maildir in a temp dir,
//!   plus helpers to seed and reshape folders over IMAP (async-imap).
//!   [`ImapServer::start_tls`] requires TLS: STARTTLS on `port`, implicit TLS on
//!   `tls_port`.
//! - [`CuttingProxy`]: a TCP proxy that drops connections after the server has
//!   sent N bytes (a server dying mid-fetch).
//!
//! One file per server: `smtp.rs`, `dovecot.rs`, `proxy.rs`; the shared
//! process and port helpers are here.
//!
//! `scripts/test.sh` installs what these need and exports `CAM_TEST_PYTHON` (a
//! venv python with aiosmtpd) and `CAM_TEST_DOVECOT` (the dovecot binary).

use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdTcpListener;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How long a server may take to come up, and how long `wait_for` waits.
const PATIENCE: Duration = Duration::from_secs(20);
/// Poll interval for readiness and `wait_for`.
const POLL: Duration = Duration::from_millis(20);
/// Attempts when a free port was taken between choosing it and binding it.
const PORT_ATTEMPTS: usize = 5;

/// A free TCP port on 127.0.0.1 (bound then released: a small race remains,
/// which the servers here handle by retrying with another port).
pub fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Kills and reaps a child process (no zombies, no strays).
fn kill_and_reap(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn read_to_string_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------

mod dovecot;
mod proxy;
mod smtp;

pub use dovecot::*;
pub use proxy::*;
pub use smtp::*;

// ---------------------------------------------------------------------------
// Self-tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor, address::Envelope};

    use super::*;

    fn transport(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build()
    }

    fn envelope(to: &str) -> Envelope {
        Envelope::new(
            Some("sender@cam.test".parse::<Address>().unwrap()),
            vec![to.parse::<Address>().unwrap()],
        )
        .unwrap()
    }

    /// lettre always ends DATA with `\r\n.\r\n`, so a message that already ends
    /// with CRLF arrives with one more empty line.
    fn as_sent_by_lettre(message: &[u8]) -> Vec<u8> {
        [message, b"\r\n"].concat()
    }

    const MESSAGE: &[u8] =
        b"From: sender@cam.test\r\nTo: lead@example.test\r\nSubject: hello\r\n\r\n.leading dot\r\nbody\r\n";

    #[tokio::test]
    async fn smtp_server_stores_what_it_accepts() {
        let server = SmtpServer::start().await;
        transport(server.port)
            .send_raw(&envelope("lead@example.test"), MESSAGE)
            .await
            .expect("send");
        let got = server.wait_for(1).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].mail_from, "sender@cam.test");
        assert_eq!(got[0].rcpt_tos, vec!["lead@example.test".to_string()]);
        assert_eq!(got[0].raw, as_sent_by_lettre(MESSAGE));
        assert!(!got[0].tls && !got[0].authenticated, "{got:?}");
    }

    #[tokio::test]
    async fn smtp_sink_only_counts() {
        let server = SmtpServer::start_sink().await;
        let smtp = transport(server.port);
        for _ in 0..3 {
            smtp.send_raw(&envelope("lead@example.test"), MESSAGE)
                .await
                .expect("send");
        }
        assert_eq!(server.wait_for_count(3).await, 3);
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn smtp_server_faults_by_recipient() {
        let server = SmtpServer::start().await;
        let smtp = transport(server.port);

        let err = smtp
            .send_raw(&envelope("reject-1@example.test"), MESSAGE)
            .await
            .expect_err("rejected");
        assert!(err.is_permanent(), "{err:?}");
        assert_eq!(err.status().map(|c| c.to_string()), Some("550".to_string()));

        let err = smtp
            .send_raw(&envelope("datareject@example.test"), MESSAGE)
            .await
            .expect_err("refused");
        assert!(err.is_permanent(), "{err:?}");
        assert_eq!(err.status().map(|c| c.to_string()), Some("554".to_string()));

        for _ in 0..2 {
            let err = smtp
                .send_raw(&envelope("tempfail@example.test"), MESSAGE)
                .await
                .expect_err("tempfail");
            assert!(err.is_transient(), "{err:?}");
        }
        smtp.send_raw(&envelope("tempfail@example.test"), MESSAGE)
            .await
            .expect("third try accepted");

        // Stored, but the client never hears 250.
        let err = smtp
            .send_raw(&envelope("cut@example.test"), MESSAGE)
            .await
            .expect_err("cut");
        assert!(!err.is_permanent(), "{err:?}");

        let got = server.wait_for(2).await;
        let rcpts: Vec<_> = got.iter().map(|r| r.rcpt_tos[0].as_str()).collect();
        assert_eq!(rcpts, ["tempfail@example.test", "cut@example.test"]);
        assert_eq!(got[1].raw, as_sent_by_lettre(MESSAGE));
    }

    #[tokio::test]
    async fn smtp_server_requires_auth_when_asked() {
        let server = SmtpServer::start_with_auth("mailer", "s3cret").await;
        let err = transport(server.port)
            .send_raw(&envelope("a@example.test"), MESSAGE)
            .await
            .expect_err("no auth");
        assert!(err.is_permanent(), "{err:?}");
        let with_auth = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port)
            .credentials(lettre::transport::smtp::authentication::Credentials::new(
                "mailer".into(),
                "s3cret".into(),
            ))
            .build();
        with_auth
            .send_raw(&envelope("a@example.test"), MESSAGE)
            .await
            .expect("send with auth");
        let got = server.wait_for(1).await;
        assert!(got[0].authenticated && !got[0].tls, "{got:?}");
        // Recorded in the clear: the TLS tests rely on this to show that no
        // credentials went out.
        assert_eq!(
            server.auth_attempts(),
            [AuthAttempt {
                mechanism: "PLAIN".into(),
                tls: false,
                success: true
            }]
        );
    }

    #[tokio::test]
    async fn imap_server_round_trip_and_uidvalidity() {
        let server = ImapServer::start().await;
        server.append("INBOX", MESSAGE).await;

        // Read back with async-imap directly, as the inbox reader will.
        let mut session = server.session().await;
        session.select("INBOX").await.unwrap();
        let fetches: Vec<_> = session
            .uid_fetch("1:*", "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(fetches.len(), 1);
        assert_eq!(fetches[0].uid, Some(1));
        assert_eq!(fetches[0].body(), Some(MESSAGE));
        session.logout().await.unwrap();

        server.create_folder("Archive").await;
        server.append("Archive", MESSAGE).await;
        let before = server.uidvalidity("Archive").await;
        server.recreate_folder("Archive").await;
        assert_ne!(server.uidvalidity("Archive").await, before);
        assert!(server.messages("Archive").await.is_empty());

        let before = server.uidvalidity("INBOX").await;
        server.reset_uidvalidity("INBOX").await;
        assert_ne!(server.uidvalidity("INBOX").await, before);
        assert_eq!(server.messages("INBOX").await, vec![(1, MESSAGE.to_vec())]);
        server.recreate_folder("INBOX").await;
        assert!(server.messages("INBOX").await.is_empty());
    }

    #[tokio::test]
    async fn cutting_proxy_drops_mid_fetch_then_forwards() {
        let server = ImapServer::start().await;
        let big: Vec<u8> = [&b"Subject: big\r\n\r\n"[..], &b"0123456789abcdef\r\n".repeat(20_000)].concat();
        server.append("INBOX", &big).await;

        // Greeting, capabilities, login and select fit in 4 KiB; the body does not.
        let proxy = CuttingProxy::start(server.port, 4096).await;
        let stream = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap();
        let mut session = client
            .login(&server.user, &server.password)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        session.select("INBOX").await.unwrap();
        let fetched = match session.uid_fetch("1:*", "BODY.PEEK[]").await {
            Ok(stream) => stream.try_collect::<Vec<_>>().await,
            Err(e) => Err(e),
        };
        assert!(
            fetched.is_err() || fetched.as_ref().unwrap().is_empty(),
            "the cut fetch succeeded"
        );
        drop(session);

        proxy.set_cut_after(None);
        let stream = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap();
        let mut session = client
            .login(&server.user, &server.password)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        session.select("INBOX").await.unwrap();
        let fetches: Vec<_> = session
            .uid_fetch("1:*", "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(fetches[0].body(), Some(&big[..]));
        session.logout().await.unwrap();
        assert_eq!(proxy.connections(), 2);
    }

    #[tokio::test]
    async fn several_imap_servers_at_once_stop_restart_and_leave_nothing_running() {
        let (mut a, b) = tokio::join!(ImapServer::start(), ImapServer::start());
        assert_ne!(a.port, b.port);
        a.append("INBOX", MESSAGE).await;
        assert_eq!(a.messages("INBOX").await.len(), 1);
        assert!(b.messages("INBOX").await.is_empty());

        a.stop();
        assert!(TcpStream::connect(("127.0.0.1", a.port)).await.is_err());
        a.restart().await;
        assert_eq!(a.messages("INBOX").await, vec![(1, MESSAGE.to_vec())]);

        // Dropping kills the master, its services and open sessions' processes.
        let mut open_session = a.session().await;
        open_session.select("INBOX").await.unwrap();
        let master = a.child.as_ref().unwrap().id();
        let others = descendants(master);
        assert!(others.len() >= 3, "{others:?}");
        drop(a);
        assert!(!is_running(master));
        let left: Vec<_> = others.into_iter().filter(|&pid| is_running(pid)).collect();
        assert!(left.is_empty(), "still running: {left:?}");
        assert!(open_session.noop().await.is_err());
        drop(b);
    }
}
