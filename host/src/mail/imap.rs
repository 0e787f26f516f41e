//! Live inbox: IMAP with async-imap, over TLS, STARTTLS or (loopback only)
//! plain TCP.
//!
//! For every account and folder the store keeps (UIDVALIDITY, last UID).
//! A fetch asks for UIDs above the last one; the cursor moves only when
//! the inbox step acknowledges a message, i.e. after the message is stored,
//! and only past an unbroken run of stored messages — a message that could
//! not be stored is fetched again next time. When the server reports a new
//! UIDVALIDITY (the folder was rebuilt) the folder is read again from the
//! start; the store's Message-ID dedupe keeps that free of duplicates.
//! Messages are fetched with `BODY.PEEK[]`, so they stay unread for humans.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use futures::TryStreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::tls::TlsClient;
use super::{FetchedMessage, InboxSource};
use crate::config::{ImapConfig, Secret, Security, resolve};
use crate::domain::model::InboxCursor;
use crate::store::Store;

/// Any byte stream async-imap can run over (plain TCP or TLS).
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Stream for T {}

type Session = async_imap::Session<Box<dyn Stream>>;

struct Account {
    config: ImapConfig,
    password: Secret,
    /// Prepared once at start; `None` for plain text.
    tls: Option<TlsClient>,
}

/// What one fetch handed out for a folder, to move its cursor on
/// acknowledgement.
#[derive(Debug, Default)]
struct Pending {
    uid_validity: u32,
    fetched: BTreeSet<u32>,
    acknowledged: BTreeSet<u32>,
    cursor: u32,
}

/// Reads replies from IMAP accounts; see the module docs.
pub struct ImapInbox {
    accounts: Vec<Account>,
    store: Arc<dyn Store>,
    tenant: String,
    pending: Mutex<HashMap<String, Pending>>,
}

impl fmt::Debug for ImapInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapInbox")
            .field("accounts", &self.mailbox())
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl ImapInbox {
    /// An inbox over `configs`, keeping cursors in `store` for `tenant`.
    /// Passwords are read now, so a missing one fails at start.
    pub fn new(configs: &[ImapConfig], base: &Path, store: Arc<dyn Store>, tenant: &str) -> anyhow::Result<Self> {
        let mut accounts = Vec::new();
        for config in configs {
            config.security.check_host(&config.host)?;
            if config.folders.is_empty() {
                anyhow::bail!("IMAP account {:?} lists no folders", config.name);
            }
            let what = format!("the IMAP password of account {:?}", config.name);
            let password = config
                .password
                .read(base, &what)?
                .ok_or_else(|| anyhow!("{what}: set password = {{ env = \"…\" }} or {{ file = \"…\" }}"))?;
            let tls = match config.security {
                Security::Plain => None,
                Security::Tls | Security::Starttls => {
                    let ca_file = config.ca_file.as_deref().map(|p| resolve(base, p));
                    Some(TlsClient::new(&config.host, ca_file.as_deref())?)
                }
            };
            accounts.push(Account {
                config: config.clone(),
                password,
                tls,
            });
        }
        Ok(Self {
            accounts,
            store,
            tenant: tenant.to_string(),
            pending: Mutex::new(HashMap::new()),
        })
    }
}

/// The stored mailbox name of an account's folder.
fn folder_key(account: &str, folder: &str) -> String {
    format!("imap:{account}/{folder}")
}

impl Account {
    fn server(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port())
    }

    async fn within<T>(&self, what: &str, work: impl Future<Output = T>) -> anyhow::Result<T> {
        let limit = Duration::from_secs(self.config.timeout_secs.max(1));
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| anyhow!("{}: no answer to {what} within {limit:?}", self.server()))
    }

    async fn tls(&self, tcp: TcpStream) -> anyhow::Result<Box<dyn Stream>> {
        let client = self
            .tls
            .as_ref()
            .ok_or_else(|| anyhow!("{}: TLS asked for on a plain-text account", self.server()))?;
        let stream = self
            .within("the TLS handshake", client.connect(tcp))
            .await?
            .with_context(|| format!("TLS with {} failed", self.server()))?;
        Ok(Box::new(stream))
    }

    /// Reads the server's greeting.
    async fn greeting<T: Stream>(&self, client: &mut async_imap::Client<T>) -> anyhow::Result<()> {
        let server = self.server();
        self.within("the greeting", client.read_response())
            .await?
            .with_context(|| format!("reading the greeting of {server}"))?
            .ok_or_else(|| anyhow!("{server} closed the connection before its greeting"))?;
        Ok(())
    }

    /// Connects, secures and logs in.
    async fn login(&self) -> anyhow::Result<Session> {
        let server = self.server();
        let tcp = self
            .within(
                "connect",
                TcpStream::connect((self.config.host.as_str(), self.config.port())),
            )
            .await?
            .with_context(|| format!("cannot connect to IMAP server {server}"))?;
        let stream: Box<dyn Stream> = match self.config.security {
            Security::Tls => self.tls(tcp).await?,
            Security::Plain => Box::new(tcp),
            Security::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                self.greeting(&mut plain).await?;
                self.within("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                    .await?
                    .with_context(|| format!("{server} refused STARTTLS; not logging in in the clear"))?;
                self.tls(plain.into_inner()).await?
            }
        };
        let mut client = async_imap::Client::new(stream);
        if self.config.security != Security::Starttls {
            // After STARTTLS there is no second greeting.
            self.greeting(&mut client).await?;
        }
        let session = self
            .within("LOGIN", client.login(&self.config.username, self.password.expose()))
            .await?
            .map_err(|(e, _)| anyhow!("{server} refused the login of {}: {e}", self.config.username))?;
        Ok(session)
    }
}

#[async_trait]
impl InboxSource for ImapInbox {
    fn mailbox(&self) -> String {
        let names: Vec<String> = self
            .accounts
            .iter()
            .map(|a| format!("imap {}@{} {:?}", a.config.username, a.server(), a.config.folders))
            .collect();
        names.join("; ")
    }

    async fn fetch_new(&self, limit: usize) -> anyhow::Result<Vec<FetchedMessage>> {
        let mut out = Vec::new();
        let mut pending = self.pending.lock().await;
        pending.clear();
        for account in &self.accounts {
            if out.len() >= limit {
                break;
            }
            let mut session = account.login().await?;
            for folder in &account.config.folders {
                if out.len() >= limit {
                    break;
                }
                let key = folder_key(&account.config.name, folder);
                let fetched = self
                    .fetch_folder(account, &mut session, folder, &key, limit - out.len())
                    .await
                    .with_context(|| format!("reading {key} on {}", account.server()))?;
                let Some((entry, messages)) = fetched else { continue };
                pending.insert(key, entry);
                out.extend(messages);
            }
            let _ = account.within("LOGOUT", session.logout()).await;
        }
        Ok(out)
    }

    async fn acknowledge(&self, handle: &str) -> anyhow::Result<()> {
        let mut parts = handle.rsplitn(3, '\n');
        let (Some(uid), Some(validity), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("not an IMAP handle: {handle:?}");
        };
        let uid: u32 = uid.parse().with_context(|| format!("bad UID in handle {handle:?}"))?;
        let validity: u32 = validity
            .parse()
            .with_context(|| format!("bad UIDVALIDITY in {handle:?}"))?;
        let mut pending = self.pending.lock().await;
        let entry = pending
            .get_mut(key)
            .filter(|e| e.uid_validity == validity)
            .ok_or_else(|| anyhow!("{key}: UID {uid} was not handed out by the last fetch"))?;
        entry.acknowledged.insert(uid);
        // Advance over the unbroken run of stored messages only.
        let mut cursor = entry.cursor;
        for fetched in &entry.fetched {
            if *fetched <= cursor {
                continue;
            }
            if entry.acknowledged.contains(fetched) {
                cursor = *fetched;
            } else {
                break;
            }
        }
        if cursor != entry.cursor {
            entry.cursor = cursor;
            self.store
                .set_inbox_cursor(
                    &self.tenant,
                    key,
                    InboxCursor {
                        uid_validity: validity,
                        last_uid: cursor,
                    },
                )
                .await
                .with_context(|| format!("cannot save the IMAP position of {key}"))?;
        }
        Ok(())
    }
}

impl ImapInbox {
    /// New messages of one folder, oldest first.
    async fn fetch_folder(
        &self,
        account: &Account,
        session: &mut Session,
        folder: &str,
        key: &str,
        limit: usize,
    ) -> anyhow::Result<Option<(Pending, Vec<FetchedMessage>)>> {
        let selected = account
            .within("SELECT", session.select(folder))
            .await?
            .with_context(|| format!("cannot select folder {folder:?}"))?;
        let validity = selected
            .uid_validity
            .ok_or_else(|| anyhow!("the server sent no UIDVALIDITY for {folder:?}"))?;
        let stored = self.store.inbox_cursor(&self.tenant, key).await?;
        let after = match stored {
            Some(cursor) if cursor.uid_validity == validity => cursor.last_uid,
            Some(cursor) => {
                tracing::warn!(
                    mailbox = key,
                    old = cursor.uid_validity,
                    new = validity,
                    "UIDVALIDITY changed: reading the folder again from the start"
                );
                0
            }
            None => 0,
        };
        if selected.exists == 0 || selected.uid_next.is_some_and(|next| next <= after + 1) {
            return Ok(None);
        }
        // Ask for the UIDs first (cheap), then fetch bodies only for the
        // oldest `limit` of them: a first sync of a big mailbox never pulls
        // every message into memory at once.
        let mut uids: Vec<u32> = account
            .within("UID SEARCH", session.uid_search(format!("UID {}:*", after + 1)))
            .await?
            .context("UID SEARCH failed")?
            .into_iter()
            // `n:*` always matches the newest message, even below n.
            .filter(|uid| *uid > after)
            .collect();
        uids.sort_unstable();
        uids.truncate(limit);
        let (Some(first), Some(last)) = (uids.first().copied(), uids.last().copied()) else {
            return Ok(None);
        };
        // No UID between `first` and `last` is missing from `uids`: they are
        // the smallest ones above `after`.
        let range = format!("{first}:{last}");
        let mut messages = Vec::new();
        {
            let stream = account
                .within("UID FETCH", session.uid_fetch(&range, "(UID BODY.PEEK[])"))
                .await?
                .context("UID FETCH failed")?;
            let collected: Vec<_> = account
                .within("UID FETCH", stream.try_collect::<Vec<_>>())
                .await?
                .context("the connection failed during UID FETCH")?;
            for fetch in collected {
                let Some(uid) = fetch.uid.filter(|uid| (first..=last).contains(uid)) else {
                    continue;
                };
                let raw = fetch
                    .body()
                    .ok_or_else(|| anyhow!("the server sent UID {uid} without its body"))?;
                messages.push((uid, raw.to_vec()));
            }
        }
        while session.unsolicited_responses.try_recv().is_ok() {}
        messages.sort_by_key(|(uid, _)| *uid);
        let pending = Pending {
            uid_validity: validity,
            fetched: messages.iter().map(|(uid, _)| *uid).collect(),
            acknowledged: BTreeSet::new(),
            cursor: after,
        };
        let fetched = messages
            .into_iter()
            .map(|(uid, raw)| FetchedMessage {
                mailbox: key.to_string(),
                handle: format!("{key}\n{validity}\n{uid}"),
                raw,
            })
            .collect();
        Ok(Some((pending, fetched)))
    }
}
