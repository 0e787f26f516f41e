//! The mail and alert channel settings of `cam.toml`: sending mailboxes
//! (`[[mail.smtp]]`), inboxes (`[[mail.imap]]`), the alert webhook, and the
//! transport security they use. Plain data read from the file; `mail` and
//! `webhook` build their clients from it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::SecretSource;

/// Transport security of a mail server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTP 465, IMAP 993).
    Tls,
    /// Plain connect, then STARTTLS before credentials (SMTP 587, IMAP 143).
    Starttls,
    /// No encryption: only for a server on loopback (tests, a local relay).
    Plain,
}

impl Security {
    /// Refuses plain text to anything but a loopback address, so a typo in
    /// a config cannot send passwords across a network in the clear.
    pub fn check_host(self, host: &str) -> anyhow::Result<()> {
        if self == Security::Plain && !is_loopback(host) {
            anyhow::bail!(
                "security = \"plain\" is only allowed for loopback servers, not {host:?}; \
                 use \"tls\" or \"starttls\""
            );
        }
        Ok(())
    }
}

/// Whether `host` names this machine.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One `[[mail.smtp]]` entry of `cam.toml`: how a mailbox sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The sending address this entry is for, or `"*"` for every mailbox
    /// without an entry of its own.
    pub mailbox: String,
    /// Server host name.
    pub host: String,
    /// Server port; by default 465 for `tls`, 587 for `starttls`, 25 for `plain`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `tls`, `starttls` or `plain` (loopback only).
    pub security: Security,
    /// Login name; without one, no AUTH is attempted.
    #[serde(default)]
    pub username: Option<String>,
    /// Where the password comes from: `password = { env = "CAM_SMTP_PASSWORD" }`
    /// or `{ file = "smtp.pw" }`.
    #[serde(default)]
    pub password: SecretSource,
    /// Extra CA certificate (PEM) for a server with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name sent in EHLO; by default the mailbox's domain.
    #[serde(default)]
    pub hello_name: Option<String>,
    /// Least time between two sends from this mailbox, in milliseconds.
    #[serde(default = "default_min_gap_ms")]
    pub min_gap_ms: u64,
    /// Up to this much random extra time on top of the gap.
    #[serde(default = "default_jitter_ms")]
    pub jitter_ms: u64,
    /// Deadline for connecting and for each server reply, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Tries per message for temporary (4xx, connection) failures.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait before the second try; doubled for each further one.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// Send with a per-message envelope sender (`anna+cam-…@domain`), so a
    /// bounce that quotes nothing still names the email it is about.
    #[serde(default)]
    pub verp: bool,
}

fn default_min_gap_ms() -> u64 {
    2_000
}
fn default_jitter_ms() -> u64 {
    3_000
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_max_attempts() -> u32 {
    3
}
fn default_retry_backoff_ms() -> u64 {
    1_000
}

impl SmtpConfig {
    /// The port in effect.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        })
    }
}

/// One `[[mail.imap]]` entry of `cam.toml`: an account to read replies from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// A short name for the account; messages are stored with the mailbox
    /// `imap:<name>/<folder>`.
    pub name: String,
    /// Server host name.
    pub host: String,
    /// Server port; by default 993 for `tls`, 143 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    /// `tls`, `starttls` or `plain` (loopback only).
    pub security: Security,
    /// Login name.
    pub username: String,
    /// Where the password comes from (`{ env = "…" }` or `{ file = "…" }`).
    pub password: SecretSource,
    /// Folders to read; `["INBOX"]` by default.
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    /// Extra CA certificate (PEM) for a server with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Deadline for connecting and for each command, in seconds.
    #[serde(default = "default_imap_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".to_string()]
}
fn default_imap_timeout_secs() -> u64 {
    30
}

impl ImapConfig {
    /// The port in effect.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 993,
            _ => 143,
        })
    }
}

/// The `[alerts.webhook]` table of `cam.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where alerts are posted (`https://…`; `http://` only to loopback).
    pub url: String,
    /// The signing secret (`{ env = "CAM_WEBHOOK_SECRET" }` or `{ file = "…" }`).
    pub secret: SecretSource,
    /// Tries per alert per cycle.
    #[serde(default = "default_webhook_max_attempts")]
    pub max_attempts: u32,
    /// Wait before the second try; doubled for each further one.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Deadline per request, in seconds.
    #[serde(default = "default_webhook_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_webhook_max_attempts() -> u32 {
    4
}
fn default_backoff_ms() -> u64 {
    500
}
fn default_webhook_timeout_secs() -> u64 {
    10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_refused_for_remote_servers() {
        assert!(Security::Plain.check_host("127.0.0.1").is_ok());
        assert!(Security::Plain.check_host("localhost").is_ok());
        assert!(Security::Plain.check_host("::1").is_ok());
        let err = Security::Plain.check_host("smtp.example.com").expect_err("remote");
        assert!(err.to_string().contains("smtp.example.com"));
        assert!(Security::Tls.check_host("smtp.example.com").is_ok());
    }
}
