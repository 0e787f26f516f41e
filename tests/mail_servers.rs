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

/// One message the SMTP server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`), empty for the null sender `<>`.
    pub mail_from: String,
    /// The accepted envelope recipients (`RCPT TO`), in order.
    pub rcpt_tos: Vec<String>,
    /// The DATA bytes exactly as received (CRLF line ends, dot-stuffing removed).
    pub raw: Vec<u8>,
    /// Whether the session was encrypted (after STARTTLS, or implicit TLS).
    pub tls: bool,
    /// Whether the session had logged in with AUTH.
    pub authenticated: bool,
}

/// One AUTH attempt the SMTP server saw (see [`SmtpServer::auth_attempts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAttempt {
    /// The SASL mechanism (`PLAIN`, `LOGIN`).
    pub mechanism: String,
    /// Whether the session was encrypted at the time.
    pub tls: bool,
    /// Whether the credentials were right.
    pub success: bool,
}

impl Received {
    /// The raw message as text (lossy UTF-8), for `contains` assertions.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// A real SMTP server (aiosmtpd) on 127.0.0.1, killed on drop.
///
/// Faults by recipient local part: `tempfail*` answers `451 4.3.0` the first two
/// times that exact address is seen at RCPT, then accepts; `reject*` answers
/// `550 5.1.1` at RCPT; `datareject*` answers `554 5.7.1` after DATA; `cut*`
/// stores the message (it counts as received) and then closes the connection
/// without replying to DATA. Everything else gets `250 OK`.
#[derive(Debug)]
pub struct SmtpServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: tempfile::TempDir,
    sink: bool,
    child: Option<Child>,
}

impl SmtpServer {
    /// Starts a server that stores every accepted message.
    pub async fn start() -> SmtpServer {
        Self::spawn(&[], false).await
    }

    /// Starts a server that advertises AUTH PLAIN and LOGIN (without TLS) and
    /// requires them before `MAIL FROM`.
    pub async fn start_with_auth(user: &str, pass: &str) -> SmtpServer {
        Self::spawn(&["--auth".to_string(), format!("{user}:{pass}")], false).await
    }

    /// Starts a TLS server with the PEM certificate chain `cert` and its key
    /// `key`: with `implicit`, TLS from the first byte (SMTPS); otherwise
    /// STARTTLS, advertised and required before `MAIL FROM`.
    pub async fn start_tls(cert: &Path, key: &Path, implicit: bool) -> SmtpServer {
        Self::spawn(&tls_args(cert, key, implicit), false).await
    }

    /// [`SmtpServer::start_tls`] that also requires AUTH PLAIN or LOGIN
    /// before `MAIL FROM`. Over STARTTLS, AUTH is advertised and accepted only
    /// after STARTTLS.
    pub async fn start_tls_with_auth(cert: &Path, key: &Path, implicit: bool, user: &str, pass: &str) -> SmtpServer {
        let mut args = tls_args(cert, key, implicit);
        args.extend(["--auth".to_string(), format!("{user}:{pass}")]);
        Self::spawn(&args, false).await
    }

    /// Starts a server that only counts accepted messages (for benchmarks): read
    /// the count with [`SmtpServer::count`] / [`SmtpServer::wait_for_count`].
    pub async fn start_sink() -> SmtpServer {
        Self::spawn(&["--sink".to_string()], true).await
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    async fn spawn(extra: &[String], sink: bool) -> SmtpServer {
        // CAM_TEST_PYTHON, else the venv scripts/test.sh made, else python3.
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/python");
        let python = std::env::var("CAM_TEST_PYTHON").unwrap_or_else(|_| {
            if venv.is_file() {
                venv.display().to_string()
            } else {
                "python3".to_string()
            }
        });
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/servers/smtp_server.py");
        let dir = tempfile::Builder::new().prefix("cam-smtp").tempdir().expect("temp dir");
        let hint = "run scripts/test.sh once: it installs aiosmtpd into target/test-venv and exports \
                    CAM_TEST_PYTHON (or point CAM_TEST_PYTHON at a python with aiosmtpd==1.4.6)";
        let mut server = SmtpServer {
            port: 0,
            dir,
            sink,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            let log = std::fs::File::create(server.log_path()).expect("create smtp server log");
            let spawned = Command::new(&python)
                .arg(&script)
                .args(["--port", &server.port.to_string(), "--dir"])
                .arg(server.mail_dir())
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) => panic!("could not run {python} {}: {e}; {hint}", script.display()),
            };
            // A thread reads the READY line (then drains stdout until exit).
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = tokio::sync::oneshot::channel::<String>();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                if reader.read_line(&mut line).is_ok() && !line.is_empty() {
                    let _ = tx.send(line);
                }
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
            server.child = Some(child);
            let ready = tokio::time::timeout(PATIENCE, rx).await;
            if let Ok(Ok(line)) = &ready
                && line.trim() == format!("READY {}", server.port)
            {
                return server;
            }
            server.stop();
            let log = read_to_string_lossy(&server.log_path());
            match ready {
                Ok(Ok(line)) => panic!("smtp_server.py printed {line:?} instead of READY {}", server.port),
                Ok(Err(_)) if log.contains("Address already in use") && attempt < PORT_ATTEMPTS => continue,
                Ok(Err(_)) => {
                    panic!("smtp_server.py exited before READY ({python}); {hint}\n--- its stderr ---\n{log}")
                }
                Err(_) => panic!("smtp_server.py not READY within {PATIENCE:?}; {hint}\n--- its stderr ---\n{log}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Every message accepted so far, in arrival order (empty in sink mode).
    pub fn received(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir()) else {
            return Vec::new();
        };
        let mut seqs: Vec<u64> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        seqs.sort_unstable();
        seqs.into_iter()
            .map(|seq| {
                let base = self.mail_dir().join(format!("{seq:08}"));
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(base.with_extension("json")).expect("read .json"))
                        .expect("parse .json");
                let raw = std::fs::read(base.with_extension("eml")).expect("read .eml");
                Received {
                    mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect(),
                    raw,
                    tls: meta["tls"].as_bool().unwrap_or(false),
                    authenticated: meta["authenticated"].as_bool().unwrap_or(false),
                }
            })
            .collect()
    }

    /// Every AUTH attempt so far, in order (servers started with auth only).
    /// The server records each one before it answers it.
    pub fn auth_attempts(&self) -> Vec<AuthAttempt> {
        read_to_string_lossy(&self.mail_dir().join("auth.jsonl"))
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|v| AuthAttempt {
                mechanism: v["mechanism"].as_str().unwrap_or_default().to_string(),
                tls: v["tls"].as_bool().unwrap_or(false),
                success: v["success"].as_bool().unwrap_or(false),
            })
            .collect()
    }

    /// The server's stderr so far (TLS handshake failures land here), for
    /// failure messages.
    pub fn log(&self) -> String {
        read_to_string_lossy(&self.log_path())
    }

    /// Waits (up to 20 s) until at least `n` messages were accepted and returns
    /// all of them; panics with what arrived if they don't.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "SMTP server got {} message(s), not {n}, within {PATIENCE:?}: {:#?}\n--- its stderr ---\n{}",
                    got.len(),
                    got,
                    read_to_string_lossy(&self.log_path())
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many messages were accepted so far. In sink mode the server
    /// publishes its count at most every 50 ms, so prefer
    /// [`SmtpServer::wait_for_count`] there.
    pub fn count(&self) -> usize {
        if self.sink {
            read_to_string_lossy(&self.mail_dir().join("count"))
                .trim()
                .parse()
                .unwrap_or(0)
        } else {
            self.received().len()
        }
    }

    /// Waits (up to 20 s) until at least `n` messages were accepted; returns the count.
    pub async fn wait_for_count(&self, n: usize) -> usize {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let count = self.count();
            if count >= n {
                return count;
            }
            assert!(
                Instant::now() <= deadline,
                "SMTP server accepted {count} message(s), not {n}, within {PATIENCE:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Kills the server (a crash: clients see refused connections from now on).
    /// Messages already received stay readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child);
        }
    }
}

/// The `smtp_server.py` arguments for TLS.
fn tls_args(cert: &Path, key: &Path, implicit: bool) -> Vec<String> {
    let mut args = vec![
        "--tls-cert".to_string(),
        cert.display().to_string(),
        "--tls-key".to_string(),
        key.display().to_string(),
    ];
    if implicit {
        args.push("--implicit-tls".to_string());
    }
    args
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// IMAP
// ---------------------------------------------------------------------------

/// A logged-in IMAP session over plain TCP.
pub type ImapSession = async_imap::Session<TcpStream>;

/// A throwaway Dovecot IMAP server on 127.0.0.1 with one user (`user` /
/// `password`) whose Maildir lives in a temp dir. Killed (all its processes,
/// open sessions included) on drop. Several can run at once.
///
/// Run as root, Dovecot's own processes run as the `dovecot` user (mail
/// storage) and `dovenull` (login), and the Maildir is owned by `dovecot`; run
/// as another user, everything runs as that user.
///
/// [`ImapServer::start_tls`] makes a server that requires TLS (`ssl =
/// required`): STARTTLS on `port`, implicit TLS on `tls_port`. Dovecot still
/// counts a connection from 127.0.0.1 to 127.0.0.1 as secured, so the helpers
/// here ([`ImapServer::append`], ...) keep logging in over plain TCP on `port`;
/// [`ImapServer::logins`] tells which logins used TLS.
#[derive(Debug)]
pub struct ImapServer {
    /// The IMAP port on 127.0.0.1: plain text, or STARTTLS (required) for a
    /// [`ImapServer::start_tls`] server.
    pub port: u16,
    /// The implicit-TLS (IMAPS) port on 127.0.0.1 of a
    /// [`ImapServer::start_tls`] server; 0 for a plain one.
    pub tls_port: u16,
    /// The test user's login.
    pub user: String,
    /// The test user's password (AUTH PLAIN / LOGIN over plain text allowed).
    pub password: String,
    dir: tempfile::TempDir,
    binary: PathBuf,
    child: Option<Child>,
}

/// One successful login, from Dovecot's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapLogin {
    /// The user who logged in.
    pub user: String,
    /// Whether the connection was encrypted (STARTTLS or implicit TLS); a
    /// plain-text login from loopback is logged as `secured` instead.
    pub tls: bool,
}

/// The TLS part of a Dovecot config.
struct DovecotTls<'a> {
    cert: &'a Path,
    key: &'a Path,
    /// The implicit-TLS (IMAPS) port.
    port: u16,
}

/// Who Dovecot's processes and mail files run as.
struct DovecotIdentity {
    internal_user: String,
    login_user: String,
    uid: u32,
    gid: u32,
    root: bool,
}

/// `(name, uid, gid)` of every account in /etc/passwd.
fn passwd_entries() -> Vec<(String, u32, u32)> {
    read_to_string_lossy(Path::new("/etc/passwd"))
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?.to_string();
            let _password = fields.next()?;
            let uid = fields.next()?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some((name, uid, gid))
        })
        .collect()
}

fn dovecot_identity() -> DovecotIdentity {
    let me = std::fs::metadata("/proc/self").expect("stat /proc/self");
    let entries = passwd_entries();
    let find = |name: &str| entries.iter().find(|(n, _, _)| n == name).cloned();
    if me.uid() == 0 {
        let (internal_user, uid, gid) = find("dovecot").expect(
            "running as root, Dovecot needs its `dovecot` system user: install Debian's dovecot-imapd (scripts/test.sh does)",
        );
        let login_user = find("dovenull").map_or_else(|| internal_user.clone(), |(n, _, _)| n);
        DovecotIdentity {
            internal_user,
            login_user,
            uid,
            gid,
            root: true,
        }
    } else {
        let name = entries
            .iter()
            .find(|(_, uid, _)| *uid == me.uid())
            .map(|(n, _, _)| n.clone())
            .or_else(|| std::env::var("USER").ok())
            .expect("the current user's name");
        DovecotIdentity {
            internal_user: name.clone(),
            login_user: name,
            uid: me.uid(),
            gid: me.gid(),
            root: false,
        }
    }
}

fn find_dovecot() -> PathBuf {
    if let Ok(path) = std::env::var("CAM_TEST_DOVECOT") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("dovecot"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/dovecot")])
        .find(|p| p.is_file())
        .expect("no dovecot binary: run scripts/test.sh once (it installs dovecot-imapd and exports CAM_TEST_DOVECOT)")
}

impl ImapServer {
    /// Starts Dovecot with a self-contained config in a fresh temp dir and waits
    /// until its port greets with `* OK`.
    pub async fn start() -> ImapServer {
        Self::start_with(None).await
    }

    /// Starts a Dovecot that requires TLS (`ssl = required`) with the PEM
    /// certificate chain `cert` and its key `key` (copied into the server's
    /// dir): STARTTLS on `port`, implicit TLS (IMAPS) on `tls_port`.
    pub async fn start_tls(cert: &Path, key: &Path) -> ImapServer {
        Self::start_with(Some((cert, key))).await
    }

    async fn start_with(tls: Option<(&Path, &Path)>) -> ImapServer {
        let binary = find_dovecot();
        let id = dovecot_identity();
        let dir = tempfile::Builder::new().prefix("cam-imap").tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        // Dovecot's unprivileged processes must reach the home and base dirs.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        let home = root.join("home");
        std::fs::create_dir(&home).expect("create home dir");
        if id.root {
            std::os::unix::fs::chown(&home, Some(id.uid), Some(id.gid)).expect("chown home dir to dovecot");
        }
        let (user, password) = ("cam".to_string(), "cam-test-password".to_string());
        std::fs::write(root.join("passwd"), format!("{user}:{{PLAIN}}{password}\n")).expect("write passwd file");
        // Dovecot's config process reads `ssl_cert = <file` as the user that
        // started Dovecot (root, or ourselves), so private files are fine.
        let tls_files = tls.map(|(cert, key)| {
            let (cert_copy, key_copy) = (root.join("tls-cert.pem"), root.join("tls-key.pem"));
            std::fs::copy(cert, &cert_copy)
                .unwrap_or_else(|e| panic!("copy the TLS certificate {}: {e}", cert.display()));
            std::fs::copy(key, &key_copy).unwrap_or_else(|e| panic!("copy the TLS key {}: {e}", key.display()));
            std::fs::set_permissions(&key_copy, std::fs::Permissions::from_mode(0o600)).expect("chmod the TLS key");
            (cert_copy, key_copy)
        });

        let mut server = ImapServer {
            port: 0,
            tls_port: 0,
            user,
            password,
            dir,
            binary,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            let tls = tls_files.as_ref().map(|(cert, key)| {
                server.tls_port = loop {
                    let port = free_port();
                    if port != server.port {
                        break port;
                    }
                };
                DovecotTls {
                    cert,
                    key,
                    port: server.tls_port,
                }
            });
            std::fs::write(server.conf_path(), dovecot_conf(&root, server.port, tls, &id)).expect("write dovecot.conf");
            match server.launch().await {
                Ok(()) => return server,
                Err(why) => {
                    let logs = server.logs();
                    if logs.contains("Address already in use") && attempt < PORT_ATTEMPTS {
                        continue;
                    }
                    panic!("Dovecot ({}) did not start: {why}\n{logs}", server.binary.display());
                }
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Runs `dovecot -F -c dovecot.conf` and waits for its greeting; on failure
    /// nothing is left running.
    async fn launch(&mut self) -> Result<(), String> {
        let stderr = std::fs::File::create(self.dir.path().join("stderr.log")).expect("create stderr log");
        let child = Command::new(&self.binary)
            .arg("-F")
            .arg("-c")
            .arg(self.conf_path())
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("dup log"))
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("could not run it: {e}"))?;
        self.child = Some(child);
        let ready = self.wait_ready().await;
        if ready.is_err() {
            self.shutdown();
        }
        ready
    }

    /// Kills Dovecot (all its processes, open sessions included): a server
    /// that went away. The mail stays; [`ImapServer::restart`] brings it back.
    pub fn stop(&mut self) {
        self.shutdown();
    }

    /// Restarts Dovecot on the same port with the same mail (after
    /// [`ImapServer::stop`], or as a crash + restart if it is running).
    pub async fn restart(&mut self) {
        self.shutdown();
        if let Err(why) = self.launch().await {
            panic!("Dovecot did not restart on port {}: {why}\n{}", self.port, self.logs());
        }
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// Every successful IMAP login so far, in log order (Dovecot's log process
    /// may write a line a moment after the login: see
    /// [`ImapServer::wait_for_logins`]).
    pub fn logins(&self) -> Vec<ImapLogin> {
        read_to_string_lossy(&self.dir.path().join("dovecot.log"))
            .lines()
            .filter_map(|line| line.split_once("imap-login: Info: Login: ").map(|(_, rest)| rest))
            .map(|rest| {
                let fields: Vec<&str> = rest.split(", ").collect();
                ImapLogin {
                    user: fields
                        .iter()
                        .find_map(|f| f.strip_prefix("user=<")?.strip_suffix('>'))
                        .unwrap_or_default()
                        .to_string(),
                    tls: fields.contains(&"TLS"),
                }
            })
            .collect()
    }

    /// Waits (up to 20 s) until at least `n` logins are logged and returns all
    /// of them; panics with the logs if they don't come.
    pub async fn wait_for_logins(&self, n: usize) -> Vec<ImapLogin> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let logins = self.logins();
            if logins.len() >= n {
                return logins;
            }
            assert!(
                Instant::now() <= deadline,
                "{} IMAP login(s), not {n}, within {PATIENCE:?}: {logins:?}\n{}",
                logins.len(),
                self.logs()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Dovecot's log and stderr, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- dovecot stderr ---\n{}--- dovecot.log ---\n{}",
            read_to_string_lossy(&self.dir.path().join("stderr.log")),
            read_to_string_lossy(&self.dir.path().join("dovecot.log"))
        )
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("it exited with {status}"));
            }
            if let Ok(Ok(greeting)) = tokio::time::timeout(Duration::from_secs(2), read_greeting(self.port)).await {
                if greeting.starts_with("* OK") {
                    return Ok(());
                }
                return Err(format!("port {} greeted with {greeting:?}", self.port));
            }
            if Instant::now() > deadline {
                return Err(format!("no `* OK` greeting on port {} within {PATIENCE:?}", self.port));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops Dovecot at once: SIGKILL to the master and to every process under
    /// it (a graceful `dovecot stop` takes 1-3 s, mostly a fixed wait for its log
    /// process), reaps the master and waits until the others are gone.
    fn shutdown(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let others = descendants(child.id());
        kill_and_reap(&mut child);
        if others.is_empty() {
            return;
        }
        // `sh`'s builtin kill: no libc here, and /usr/bin/kill is not everywhere.
        let _ = Command::new("sh")
            .arg("-c")
            .arg("kill -KILL \"$@\" 2>/dev/null")
            .arg("sh")
            .args(others.iter().map(u32::to_string))
            .stdin(Stdio::null())
            .status();
        // Orphans are reaped by init; what matters is that none still runs.
        let deadline = Instant::now() + Duration::from_secs(5);
        while others.iter().any(|&pid| is_running(pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A new logged-in session (plain TCP).
    pub async fn session(&self) -> ImapSession {
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to Dovecot");
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .expect("read IMAP greeting")
            .expect("IMAP greeting");
        client
            .login(&self.user, &self.password)
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("IMAP login failed: {e}\n{}", self.logs()))
    }

    /// Appends one raw RFC 5322 message (CRLF line ends) to `folder`.
    pub async fn append(&self, folder: &str, raw: &[u8]) {
        let mut session = self.session().await;
        session
            .append(folder, None, None, raw)
            .await
            .unwrap_or_else(|e| panic!("IMAP APPEND to {folder:?} failed: {e}"));
        let _ = session.logout().await;
    }

    /// Creates `folder`.
    pub async fn create_folder(&self, folder: &str) {
        let mut session = self.session().await;
        session
            .create(folder)
            .await
            .unwrap_or_else(|e| panic!("IMAP CREATE {folder:?} failed: {e}"));
        let _ = session.logout().await;
    }

    /// Makes `folder` a new, empty folder with a new UIDVALIDITY: DELETE +
    /// CREATE, or for INBOX (which IMAP cannot delete) expunging every message
    /// and then [`ImapServer::reset_uidvalidity`]. Panics if UIDVALIDITY did not change.
    pub async fn recreate_folder(&self, folder: &str) {
        let before = self.uidvalidity(folder).await;
        if folder.eq_ignore_ascii_case("INBOX") {
            let mut session = self.session().await;
            let mailbox = session.select(folder).await.expect("IMAP SELECT INBOX");
            if mailbox.exists > 0 {
                let flagged = session
                    .store("1:*", "+FLAGS.SILENT (\\Deleted)")
                    .await
                    .expect("IMAP STORE");
                flagged.try_collect::<Vec<_>>().await.expect("IMAP STORE");
                let expunged = session.expunge().await.expect("IMAP EXPUNGE");
                expunged.try_collect::<Vec<_>>().await.expect("IMAP EXPUNGE");
            }
            let _ = session.logout().await;
            self.reset_uidvalidity(folder).await;
        } else {
            let mut session = self.session().await;
            session
                .delete(folder)
                .await
                .unwrap_or_else(|e| panic!("IMAP DELETE {folder:?} failed: {e}"));
            session
                .create(folder)
                .await
                .unwrap_or_else(|e| panic!("IMAP CREATE {folder:?} failed: {e}"));
            let _ = session.logout().await;
        }
        let after = self.uidvalidity(folder).await;
        assert_ne!(before, after, "UIDVALIDITY of {folder:?} did not change");
    }

    /// Keeps the messages of `folder` but makes Dovecot forget their UIDs, so the
    /// folder comes back with a new UIDVALIDITY and renumbered UIDs (what a
    /// server migration or a rebuilt index does). Works for INBOX too. Do it
    /// while no session has the folder selected. Panics if UIDVALIDITY did not change.
    pub async fn reset_uidvalidity(&self, folder: &str) {
        let before = self.uidvalidity(folder).await;
        let maildir = self.dir.path().join("home").join(&self.user).join("Maildir");
        let folder_dir = if folder.eq_ignore_ascii_case("INBOX") {
            maildir.clone()
        } else {
            maildir.join(format!(".{folder}"))
        };
        for (dir, prefixes) in [
            (&folder_dir, &["dovecot-uidlist", "dovecot.index"][..]),
            (&maildir, &["dovecot.list.index"][..]),
        ] {
            for entry in std::fs::read_dir(dir).expect("read the Maildir").flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if prefixes.iter().any(|p| name.starts_with(p)) {
                    std::fs::remove_file(entry.path()).expect("remove a Dovecot index file");
                }
            }
        }
        let after = self.uidvalidity(folder).await;
        assert_ne!(before, after, "UIDVALIDITY of {folder:?} did not change");
    }

    /// The UIDVALIDITY of `folder` (via SELECT).
    pub async fn uidvalidity(&self, folder: &str) -> u32 {
        let mut session = self.session().await;
        let mailbox = session
            .select(folder)
            .await
            .unwrap_or_else(|e| panic!("IMAP SELECT {folder:?} failed: {e}"));
        let _ = session.logout().await;
        mailbox.uid_validity.expect("SELECT returned no UIDVALIDITY")
    }

    /// Every message in `folder` as `(uid, raw bytes)`, in UID order (read with
    /// BODY.PEEK[], so `\Seen` is not set).
    pub async fn messages(&self, folder: &str) -> Vec<(u32, Vec<u8>)> {
        let mut session = self.session().await;
        let mailbox = session
            .select(folder)
            .await
            .unwrap_or_else(|e| panic!("IMAP SELECT {folder:?} failed: {e}"));
        let mut out = Vec::new();
        if mailbox.exists > 0 {
            let fetches: Vec<_> = session
                .uid_fetch("1:*", "(UID BODY.PEEK[])")
                .await
                .expect("IMAP UID FETCH")
                .try_collect()
                .await
                .expect("IMAP UID FETCH");
            for fetch in fetches {
                out.push((
                    fetch.uid.expect("UID in FETCH"),
                    fetch.body().unwrap_or_default().to_vec(),
                ));
            }
        }
        let _ = session.logout().await;
        out.sort_by_key(|(uid, _)| *uid);
        out
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `(pid, parent pid, state)` of every process, from /proc.
fn processes() -> Vec<(u32, u32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

/// Every process below `root` (children, grandchildren, ...).
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, _) in &all {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// Whether `pid` exists and is not a zombie.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Reads the first line a server sends on `port`.
async fn read_greeting(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") && line.len() < 1024 {
        if stream.read(&mut byte).await? == 0 {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// A self-contained Dovecot config: IMAP only, one passwd-file user, static
/// userdb, everything inside `root`. Without `tls`: no TLS, plain-text auth
/// allowed. With it: TLS required, STARTTLS on `port` and implicit TLS on
/// `tls.port` (loopback connections still count as secured to Dovecot).
fn dovecot_conf(root: &Path, port: u16, tls: Option<DovecotTls<'_>>, id: &DovecotIdentity) -> String {
    let (ssl, imaps) = match tls {
        None => (
            "ssl = no\ndisable_plaintext_auth = no".to_string(),
            "inet_listener imaps {\n    port = 0\n  }".to_string(),
        ),
        Some(DovecotTls { cert, key, port }) => (
            format!(
                "ssl = required\ndisable_plaintext_auth = yes\nssl_cert = <{}\nssl_key = <{}",
                cert.display(),
                key.display()
            ),
            format!("inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}"),
        ),
    };
    let root = root.display();
    let DovecotIdentity {
        internal_user,
        login_user,
        uid,
        gid,
        ..
    } = id;
    format!(
        r#"# Written by tests/mail_servers.rs for one test; deleted with it.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{ssl}
auth_mechanisms = plain login
auth_verbose = yes
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
last_valid_gid = 0
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  {imaps}
}}
service anvil {{
  chroot =
}}
"#
    )
}

// ---------------------------------------------------------------------------
// Cutting proxy
// ---------------------------------------------------------------------------

/// A loopback TCP proxy to `127.0.0.1:target_port` that, when cutting is on,
/// forwards only the first N bytes the server sends on each connection and
/// then closes both sides (a server dropping mid-response). Dropping it stops
/// the listener and every open connection.
#[derive(Debug)]
pub struct CuttingProxy {
    /// The port clients connect to (127.0.0.1).
    pub port: u16,
    cut_after: Arc<Mutex<Option<usize>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CuttingProxy {
    /// Starts the proxy, cutting each connection after `cut_after_server_bytes`
    /// bytes from the server.
    pub async fn start(target_port: u16, cut_after_server_bytes: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cut_after = Arc::new(Mutex::new(Some(cut_after_server_bytes)));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let cut_after = cut_after.clone();
            let connections = connections.clone();
            async move {
                // Dropped (so every connection aborted) when the proxy is dropped.
                let mut open = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            connections.fetch_add(1, Ordering::SeqCst);
                            let cut = *cut_after.lock().expect("cut_after lock");
                            open.spawn(proxy_connection(client, target_port, cut));
                        }
                        Some(_) = open.join_next(), if !open.is_empty() => {}
                    }
                }
            }
        });
        CuttingProxy {
            port,
            cut_after,
            connections,
            task,
        }
    }

    /// Changes the cut for connections accepted from now on (`None`: plain
    /// forwarding, e.g. for a retry that must succeed).
    pub fn set_cut_after(&self, n: Option<usize>) {
        *self.cut_after.lock().expect("cut_after lock") = n;
    }

    /// How many client connections the proxy has accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_connection(mut client: TcpStream, target_port: u16, cut: Option<usize>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    let mut forwarded = 0usize;
    while cut.is_none_or(|limit| forwarded < limit) {
        tokio::select! {
            read = client_read.read(&mut from_client) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => if server_write.write_all(&from_client[..n]).await.is_err() { break },
            },
            read = server_read.read(&mut from_server) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let n = cut.map_or(n, |limit| n.min(limit - forwarded));
                    if client_write.write_all(&from_server[..n]).await.is_err() {
                        break;
                    }
                    forwarded += n;
                }
            },
        }
    }
    // Both sides close when the streams drop; FIN to the client after what it got.
    let _ = client_write.shutdown().await;
}

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
