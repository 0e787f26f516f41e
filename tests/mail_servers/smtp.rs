//! The aiosmtpd SMTP server (`tests/servers/smtp_server.py`).

use super::*;

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
