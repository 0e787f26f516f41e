//! Live sending: SMTP with lettre, one reused connection per mailbox.
//!
//! The transaction is driven step by step (MAIL, RCPT, DATA, then the
//! message) so every failure can be placed exactly:
//!
//! | where it failed | what it means | result |
//! |---|---|---|
//! | connect, TLS, login | the email is not at fault | retried, then [`SendError::Deferred`] (stays queued) |
//! | a 4xx reply anywhere | the server asks to try later | retried with backoff, then `Deferred` |
//! | a 5xx reply | the server refused this message | [`SendError::NotSent`] with its reply (FAILED) |
//! | no reply after the message's final dot | the server may have accepted it | [`SendError::Uncertain`], never re-sent |
//!
//! Each mailbox is paced: a minimum gap between two sends plus a random
//! jitter, so a burst of queued emails does not look like a burst.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use rand::Rng as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::message::verp_address;
use super::tls::TlsClient;
use super::{OutgoingMessage, SendError, Sender};
use crate::config::{Secret, Security, SmtpConfig, resolve};

/// Where a mailbox's connection is, and when it may send next.
struct MailboxState {
    connection: Option<AsyncSmtpConnection>,
    next_send: Option<Instant>,
}

/// One configured mailbox, ready to send.
struct MailboxTransport {
    config: SmtpConfig,
    password: Option<Secret>,
    /// How the connection is secured, prepared once at start.
    tls: PreparedTls,
    state: Mutex<MailboxState>,
}

/// TLS set up for one mailbox (certificates read once, at start).
enum PreparedTls {
    /// Our own handshake before lettre sees the stream.
    Implicit(TlsClient),
    /// lettre upgrades the stream after STARTTLS.
    Starttls(TlsParameters),
    /// Loopback only.
    Plain,
}

/// Why one try failed.
enum TryError {
    /// Try again (4xx, connection trouble).
    Temporary(String),
    /// The server refused; do not retry.
    Refused(String),
    /// The message may have been accepted.
    Uncertain(String),
    /// The connection was gone before MAIL FROM got an answer (a reused
    /// connection the server closed while idle): nothing was sent.
    Stale(String),
}

/// lettre's STARTTLS parameters for `host`, trusting the system's roots and
/// `ca_file`.
fn starttls_parameters(host: &str, ca_file: Option<&Path>) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).with_context(|| format!("cannot read CA file {}", path.display()))?;
        let cert = lettre::transport::smtp::client::Certificate::from_pem(&pem)
            .with_context(|| format!("invalid CA file {}", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().with_context(|| format!("TLS setup for {host}"))
}

/// An implicit-TLS stream handed to lettre as its transport.
#[derive(Debug)]
struct TlsTransport(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTransport {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// Sends through SMTP servers, one reused connection per mailbox.
pub struct SmtpSender {
    mailboxes: HashMap<String, MailboxTransport>,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("mailboxes", &self.describe())
            .finish()
    }
}

impl SmtpSender {
    /// A sender for `configs`, reading each password now so a missing one
    /// is an error at start, not at the first send. `base` resolves
    /// relative file paths.
    pub fn new(configs: &[SmtpConfig], base: &Path) -> anyhow::Result<Self> {
        let mut mailboxes = HashMap::new();
        for config in configs {
            config.security.check_host(&config.host)?;
            let key = config.mailbox.trim().to_lowercase();
            let what = format!("the SMTP password of mailbox {key}");
            let password = config.password.read(base, &what)?;
            if config.username.is_some() && password.is_none() {
                anyhow::bail!(
                    "mailbox {key} has an SMTP username but no password source (password = {{ env = \"…\" }})"
                );
            }
            let ca_file = config.ca_file.as_deref().map(|p| resolve(base, p));
            let tls = match config.security {
                Security::Tls => PreparedTls::Implicit(TlsClient::new(&config.host, ca_file.as_deref())?),
                Security::Starttls => PreparedTls::Starttls(starttls_parameters(&config.host, ca_file.as_deref())?),
                Security::Plain => PreparedTls::Plain,
            };
            let transport = MailboxTransport {
                config: config.clone(),
                password,
                tls,
                state: Mutex::new(MailboxState {
                    connection: None,
                    next_send: None,
                }),
            };
            if mailboxes.insert(key.clone(), transport).is_some() {
                anyhow::bail!("two [[mail.smtp]] entries for mailbox {key}");
            }
        }
        if mailboxes.is_empty() {
            anyhow::bail!("no [[mail.smtp]] entries: a live campaign needs at least one");
        }
        Ok(Self { mailboxes })
    }

    fn transport_for(&self, mailbox: &str) -> Option<&MailboxTransport> {
        self.mailboxes
            .get(&mailbox.trim().to_lowercase())
            .or_else(|| self.mailboxes.get("*"))
    }

    /// Closes every open connection politely (QUIT).
    pub async fn close(&self) {
        for transport in self.mailboxes.values() {
            if let Some(mut connection) = transport.state.lock().await.connection.take() {
                let _ = connection.quit().await;
            }
        }
    }
}

#[async_trait]
impl Sender for SmtpSender {
    fn describe(&self) -> String {
        let mut servers: Vec<String> = self
            .mailboxes
            .values()
            .map(|t| format!("{}:{}", t.config.host, t.config.port()))
            .collect();
        servers.sort();
        servers.dedup();
        format!("smtp {}", servers.join(", "))
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let transport = self.transport_for(&message.from).ok_or_else(|| {
            SendError::Deferred(format!(
                "no [[mail.smtp]] entry for mailbox {} (and no \"*\" entry) in cam.toml",
                message.from
            ))
        })?;
        let mut state = transport.state.lock().await;
        if let Some(at) = state.next_send.filter(|at| *at > Instant::now()) {
            tokio::time::sleep_until(at).await;
        }
        let config = &transport.config;
        let mut last = String::new();
        for attempt in 1..=config.max_attempts.max(1) {
            if attempt > 1 {
                let backoff = config.retry_backoff_ms.saturating_mul(1 << (attempt - 2).min(16));
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            let outcome = transport.try_once(&mut state, message).await;
            if !matches!(outcome, Err(TryError::Temporary(_) | TryError::Stale(_))) {
                // Pace after anything that reached the server's verdict.
                let jitter = if config.jitter_ms > 0 {
                    rand::thread_rng().gen_range(0..=config.jitter_ms)
                } else {
                    0
                };
                state.next_send = Some(Instant::now() + Duration::from_millis(config.min_gap_ms + jitter));
            }
            match outcome {
                Ok(()) => return Ok(()),
                Err(TryError::Refused(reply)) => return Err(SendError::NotSent(reply)),
                Err(TryError::Uncertain(why)) => return Err(SendError::Uncertain(why)),
                Err(TryError::Temporary(why) | TryError::Stale(why)) => last = why,
            }
        }
        Err(SendError::Deferred(format!(
            "{last} (gave up after {} tries; stays queued for the next cycle)",
            config.max_attempts.max(1)
        )))
    }
}

impl MailboxTransport {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs.max(1))
    }

    fn server(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port())
    }

    fn hello_name(&self) -> ClientId {
        let name = self
            .config
            .hello_name
            .clone()
            .or_else(|| self.config.mailbox.rsplit_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| "localhost".to_string());
        ClientId::Domain(name)
    }

    /// A fresh, greeted, secured and logged-in connection.
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let hello = self.hello_name();
        let server = self.server();
        let connecting = async {
            let tcp = TcpStream::connect((self.config.host.as_str(), self.config.port()))
                .await
                .map_err(|e| format!("cannot connect to {server}: {e}"))?;
            // Without this, the small write that ends each message waits for
            // the server's delayed ACK (Nagle): 40 ms a message.
            tcp.set_nodelay(true)
                .map_err(|e| format!("cannot set TCP_NODELAY on {server}: {e}"))?;
            let transport: Box<dyn AsyncTokioStream> = match &self.tls {
                PreparedTls::Implicit(client) => Box::new(TlsTransport(
                    client
                        .connect(tcp)
                        .await
                        .map_err(|e| format!("TLS with {server} failed: {e}"))?,
                )),
                PreparedTls::Starttls(_) | PreparedTls::Plain => Box::new(tcp),
            };
            AsyncSmtpConnection::connect_with_transport(transport, &hello)
                .await
                .map_err(|e| format!("{server} did not greet: {e}"))
        };
        let mut connection = tokio::time::timeout(self.timeout(), connecting)
            .await
            .map_err(|_| format!("no answer from {server} within {:?}", self.timeout()))??;
        if let PreparedTls::Starttls(parameters) = &self.tls {
            if !connection.can_starttls() {
                connection.abort().await;
                return Err(format!(
                    "{server} does not offer STARTTLS; refusing to log in in the clear"
                ));
            }
            let parameters = parameters.clone();
            // No abort() on failure: a failed or interrupted upgrade leaves
            // lettre's stream empty; dropping the connection closes the socket.
            match tokio::time::timeout(self.timeout(), connection.starttls(parameters, &hello)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("STARTTLS with {server} failed: {e}")),
                Err(_) => return Err(format!("STARTTLS with {server}: no answer within {:?}", self.timeout())),
            }
        }
        if let (Some(user), Some(password)) = (&self.config.username, &self.password) {
            let credentials = Credentials::new(user.clone(), password.expose().to_string());
            let login = connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials);
            match tokio::time::timeout(self.timeout(), login).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    connection.abort().await;
                    return Err(format!("{server} refused the login of {user}: {e}"));
                }
                Err(_) => return Err(format!("{server} did not answer the login within {:?}", self.timeout())),
            }
        }
        Ok(connection)
    }

    async fn try_once(&self, state: &mut MailboxState, message: &OutgoingMessage) -> Result<(), TryError> {
        let reused = state.connection.is_some();
        let mut connection = match state.connection.take().filter(|c| !c.has_broken()) {
            Some(c) => c,
            None => self.connect().await.map_err(TryError::Temporary)?,
        };
        let mut result = self.transaction(&mut connection, message).await;
        if reused && matches!(result, Err(TryError::Stale(_))) {
            // The server closed the idle connection: reconnect once, at no
            // cost to the retry budget.
            connection.abort().await;
            connection = self.connect().await.map_err(TryError::Temporary)?;
            result = self.transaction(&mut connection, message).await;
        }
        if result.is_ok() {
            state.connection = Some(connection);
        } else {
            connection.abort().await;
        }
        result
    }

    /// MAIL, RCPT, DATA and the message on an open connection.
    async fn transaction(
        &self,
        connection: &mut AsyncSmtpConnection,
        message: &OutgoingMessage,
    ) -> Result<(), TryError> {
        let envelope_from = if self.config.verp {
            verp_address(&message.from, &message.message_id)
        } else {
            message.from.clone()
        };
        let from: Address = envelope_from
            .parse()
            .map_err(|e| TryError::Refused(format!("invalid sender address {envelope_from:?}: {e}")))?;
        let to: Address = message
            .to
            .parse()
            .map_err(|e| TryError::Refused(format!("invalid recipient address {:?}: {e}", message.to)))?;
        let mut options = Vec::new();
        let info = connection.server_info();
        if !message.raw.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(TryError::Refused(format!(
                    "{} does not accept 8-bit messages (no 8BITMIME)",
                    self.server()
                )));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if !envelope_from.is_ascii() || !message.to.is_ascii() {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(TryError::Refused(format!(
                    "{} does not accept non-ASCII addresses (no SMTPUTF8)",
                    self.server()
                )));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        let timeout = self.timeout();
        let before_data = |what: &'static str| {
            move |e: lettre::transport::smtp::Error| {
                if e.is_permanent() {
                    TryError::Refused(format!("{what}: {e}"))
                } else {
                    TryError::Temporary(format!("{what}: {e}"))
                }
            }
        };
        let step = |what: &'static str| move |_| TryError::Temporary(format!("{what}: no reply within {timeout:?}"));
        tokio::time::timeout(timeout, connection.command(Mail::new(Some(from), options)))
            .await
            .map_err(step("MAIL FROM"))?
            .map_err(|e| {
                if e.status().is_none() {
                    TryError::Stale(format!("MAIL FROM: {e}"))
                } else {
                    before_data("MAIL FROM")(e)
                }
            })?;
        tokio::time::timeout(timeout, connection.command(Rcpt::new(to, vec![])))
            .await
            .map_err(step("RCPT TO"))?
            .map_err(before_data("RCPT TO"))?;
        tokio::time::timeout(timeout, connection.command(Data))
            .await
            .map_err(step("DATA"))?
            .map_err(before_data("DATA"))?;
        // From here on, silence may mean the server kept the message.
        // lettre ends DATA with CRLF.CRLF itself: hand over the message
        // without its final line break so it arrives byte for byte.
        let body = message.raw.strip_suffix(b"\r\n").unwrap_or(&message.raw);
        match tokio::time::timeout(timeout, connection.message(body)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(TryError::Refused(format!("after the message: {e}"))),
            Ok(Err(e)) if e.is_transient() => Err(TryError::Temporary(format!("after the message: {e}"))),
            Ok(Err(e)) => Err(TryError::Uncertain(format!(
                "the connection to {} failed after the message was transmitted ({e}); the server may have accepted it",
                self.server()
            ))),
            Err(_) => Err(TryError::Uncertain(format!(
                "{} did not confirm the message within {timeout:?}; it may have been accepted",
                self.server()
            ))),
        }
    }
}
