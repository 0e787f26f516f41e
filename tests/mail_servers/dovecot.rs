//! A throwaway Dovecot IMAP server.

use super::*;

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
    pub(super) child: Option<Child>,
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
pub(super) fn descendants(root: u32) -> Vec<u32> {
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
pub(super) fn is_running(pid: u32) -> bool {
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
