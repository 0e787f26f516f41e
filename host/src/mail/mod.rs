//! Mail in and out: the seams the pipeline sends and reads through, the
//! dry-run transports (an outbox folder of `.eml` files and a Maildir inbox),
//! building outreach messages, and recognising bounces and auto-replies.
//!
//! The pipeline only sees [`Sender`] and [`InboxSource`]; live SMTP and IMAP
//! implementations plug in beside [`outbox::OutboxSender`] and
//! [`maildir::MaildirInbox`] without touching the steps.

pub mod imap;
pub mod maildir;
pub mod message;
pub mod outbox;
pub mod recognise;
pub mod smtp;
pub mod tls;
pub mod unsubscribe;

use async_trait::async_trait;

/// A complete message ready to go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The Message-ID header value, angle brackets included.
    pub message_id: String,
    /// The envelope sender (the mailbox address).
    pub from: String,
    /// The envelope recipient.
    pub to: String,
    /// The whole RFC 5322 message, headers and body, CRLF line ends.
    pub raw: Vec<u8>,
}

/// Why a send did not succeed, split by what it means for a retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The message certainly did not leave and should not be tried again
    /// (the server refused it with a 5xx reply, the outbox folder is not
    /// writable...): it is marked FAILED with the reason.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The message certainly did not leave, for a reason that may pass (the
    /// server is down, answered 4xx, refused the login): it goes back to
    /// the queue for the next cycle.
    #[error("not sent yet: {0}")]
    Deferred(String),
    /// The message may have left (a timeout after DATA): it is marked
    /// UNCERTAIN and never re-sent automatically.
    #[error("may have been sent: {0}")]
    Uncertain(String),
}

/// Where outgoing messages go: the dry-run outbox, or SMTP.
#[async_trait]
pub trait Sender: Send + Sync {
    /// A short description for reports (`outbox /path`, `smtp host`).
    fn describe(&self) -> String;
    /// Hands one message over. `Ok` means accepted (or written).
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError>;
}

/// One message read from a mailbox but not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// The mailbox (account and folder) it was read from, stored with it.
    pub mailbox: String,
    /// The source's handle for [`InboxSource::acknowledge`] (a Maildir file
    /// name, an IMAP UID).
    pub handle: String,
    /// The message exactly as received.
    pub raw: Vec<u8>,
}

/// Where replies come from: a Maildir in dry-run, IMAP when live.
///
/// The inbox step stores each fetched message and only then acknowledges it,
/// so a crash in between re-reads the message and the store's Message-ID
/// dedupe makes that harmless.
#[async_trait]
pub trait InboxSource: Send + Sync {
    /// The mailbox name stored with each message.
    fn mailbox(&self) -> String;
    /// New messages, oldest first, at most `limit`.
    async fn fetch_new(&self, limit: usize) -> anyhow::Result<Vec<FetchedMessage>>;
    /// Marks a message as stored so it is not fetched again.
    async fn acknowledge(&self, handle: &str) -> anyhow::Result<()>;
}
