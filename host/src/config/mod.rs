//! The configuration file (`cam.toml`) with `CAM_*` environment overrides.
//!
//! Relative paths in the file are relative to the file's folder, so a setup
//! works from any working directory. Secrets (the database URL may carry a
//! password) never appear in `Debug` output or logs.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

mod channels;
mod secret;

pub use channels::{ImapConfig, Security, SmtpConfig, WebhookConfig, is_loopback};
pub use secret::{REDACTED, Secret, SecretSource};

use crate::runtime::Limits;
use crate::runtime::limits::LimitSettings;

/// Where operator alerts go when neither `CAM_OPERATOR_EMAIL` nor
/// `[alerts] email` says.
pub const DEFAULT_OPERATOR_ADDRESS: &str = "operator@localhost";

/// The default config file name, looked for in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "cam.toml";

/// The `[mail]` table: live SMTP and IMAP, and unsubscribe links.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// How each mailbox sends (`[[mail.smtp]]`); live campaigns need one.
    #[serde(default)]
    pub smtp: Vec<SmtpConfig>,
    /// Where replies are read (`[[mail.imap]]`); live campaigns need one.
    #[serde(default)]
    pub imap: Vec<ImapConfig>,
    /// Where `cam serve` answers one-click unsubscribes, e.g.
    /// `https://go.example.com/unsubscribe`; by default
    /// `https://<sending domain>/unsubscribe`.
    #[serde(default)]
    pub unsubscribe_url: Option<String>,
    /// The key that signs unsubscribe links (created on first use).
    #[serde(default)]
    pub unsubscribe_key_file: Option<PathBuf>,
}

/// The `[alerts]` table: where positive replies are announced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The operator's address (`CAM_OPERATOR_EMAIL` overrides it).
    #[serde(default)]
    pub email: Option<String>,
    /// A webhook to POST alerts to.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
}

/// The `[hosted]` table: what serving many tenants from one database needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostedConfig {
    /// The file of server keys that seal tenants' settings in the database
    /// (`CAM_SERVER_KEY_FILE` overrides it).
    #[serde(default)]
    pub server_key_file: Option<PathBuf>,
    /// Where hosted tenants' dry-run mail folders and plugin version
    /// folders go, one subfolder per tenant (`tenants` by default).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database_url: Option<String>,
    plugins_dir: Option<PathBuf>,
    outbox_dir: Option<PathBuf>,
    inbox_dir: Option<PathBuf>,
    tenant: Option<String>,
    #[serde(default)]
    limits: LimitSettings,
    #[serde(default)]
    mail: MailConfig,
    #[serde(default)]
    alerts: AlertsConfig,
    #[serde(default)]
    hosted: HostedConfig,
}

/// The effective configuration.
#[derive(Clone)]
pub struct Config {
    /// Where the config file is (or would be).
    pub path: PathBuf,
    /// `sqlite://...` or `postgres://...`. Secret: may hold a password.
    database_url: String,
    /// The folder of plugin `.wasm` files and their manifests.
    pub plugins_dir: PathBuf,
    /// Dry-run outbox: one `.eml` per message.
    pub outbox_dir: PathBuf,
    /// Dry-run inbox: a Maildir the inbox step reads.
    pub inbox_dir: PathBuf,
    /// The tenant CLI commands act for.
    pub tenant: String,
    /// Plugin call maxima.
    pub limits: Limits,
    /// Live mail and unsubscribe settings.
    pub mail: MailConfig,
    /// Alert channels.
    pub alerts: AlertsConfig,
    /// Hosted mode: the server key file and the tenants' data folder.
    pub hosted: HostedConfig,
    /// The config file's folder: relative paths in `mail` and `alerts`
    /// (secret files, CA files) are relative to it.
    pub base_dir: PathBuf,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("database_url", &redact_url(&self.database_url))
            .field("plugins_dir", &self.plugins_dir)
            .field("outbox_dir", &self.outbox_dir)
            .field("inbox_dir", &self.inbox_dir)
            .field("tenant", &self.tenant)
            .field("limits", &self.limits)
            .field("mail", &self.mail)
            .field("alerts", &self.alerts)
            .field("hosted", &self.hosted)
            .finish()
    }
}

/// `path` relative to `base` (the config file's folder) unless absolute.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// `url` with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl Config {
    /// Loads `path` (which may be missing: then defaults apply relative to its
    /// folder) and applies `CAM_DATABASE_URL`, `CAM_PLUGINS_DIR`, `CAM_OUTBOX_DIR`,
    /// `CAM_INBOX_DIR`, `CAM_TENANT` and `CAM_TIMEOUT_MS` overrides.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        Self::read(path, &|name| std::env::var(name).ok())
    }

    /// Loads `path` as [`Config::load`] does but without the `CAM_*`
    /// environment: a self-contained setup such as `cam demo`'s folder.
    pub fn load_ignoring_environment(path: &Path) -> anyhow::Result<Config> {
        Self::read(path, &|_| None)
    }

    fn read(path: &Path, environment: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let file: ConfigFile = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::from_str("").context("empty config")?,
            Err(e) => return Err(e).with_context(|| format!("cannot read config file {}", path.display())),
        };
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let env = |name: &str| environment(name).filter(|v| !v.is_empty());
        let resolve = |p: PathBuf| resolve(&base, &p);

        let database_url = env("CAM_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| "sqlite://cam.db".to_string());
        let database_url = match database_url.strip_prefix("sqlite://") {
            Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') => {
                format!("sqlite://{}", base.join(rest).display())
            }
            _ => database_url,
        };
        let mut settings = file.limits;
        if let Some(ms) = env("CAM_TIMEOUT_MS").and_then(|v| v.parse().ok()) {
            settings.timeout_ms = Some(ms);
        }
        let limits = Limits::default().set_by(&settings);
        refuse_inline_secrets(&file.mail, &file.alerts).with_context(|| format!("in {}", path.display()))?;
        let mut hosted = file.hosted;
        if let Some(keys) = env("CAM_SERVER_KEY_FILE") {
            hosted.server_key_file = Some(keys.into());
        }
        Ok(Config {
            path: path.to_path_buf(),
            database_url,
            plugins_dir: resolve(
                env("CAM_PLUGINS_DIR")
                    .map(PathBuf::from)
                    .or(file.plugins_dir)
                    .unwrap_or("plugins".into()),
            ),
            outbox_dir: resolve(
                env("CAM_OUTBOX_DIR")
                    .map(PathBuf::from)
                    .or(file.outbox_dir)
                    .unwrap_or("outbox".into()),
            ),
            inbox_dir: resolve(
                env("CAM_INBOX_DIR")
                    .map(PathBuf::from)
                    .or(file.inbox_dir)
                    .unwrap_or("inbox".into()),
            ),
            tenant: env("CAM_TENANT")
                .or(file.tenant)
                .unwrap_or_else(|| "default".to_string()),
            limits,
            mail: file.mail,
            alerts: file.alerts,
            hosted,
            base_dir: base,
        })
    }

    /// The file of the key that signs unsubscribe links.
    pub fn unsubscribe_key_file(&self) -> PathBuf {
        let file = self
            .mail
            .unsubscribe_key_file
            .as_deref()
            .unwrap_or(Path::new("unsubscribe.key"));
        resolve(&self.base_dir, file)
    }

    /// Where alert emails go: `CAM_OPERATOR_EMAIL`, else `[alerts] email`,
    /// else `operator@localhost`; an empty `email = ""` turns alert emails
    /// off (webhook only).
    pub fn operator_address(&self) -> Option<String> {
        let chosen = std::env::var("CAM_OPERATOR_EMAIL")
            .ok()
            .or_else(|| self.alerts.email.clone())
            .unwrap_or_else(|| DEFAULT_OPERATOR_ADDRESS.to_string());
        Some(chosen.trim().to_string()).filter(|a| !a.is_empty())
    }

    /// The server key file, if one is configured.
    pub fn server_key_file(&self) -> Option<PathBuf> {
        self.hosted
            .server_key_file
            .as_deref()
            .map(|file| resolve(&self.base_dir, file))
    }

    /// The folder of a hosted tenant's dry-run mail and plugin versions.
    pub fn tenant_dir(&self, tenant: &str) -> PathBuf {
        let data = self.hosted.data_dir.as_deref().unwrap_or(Path::new("tenants"));
        resolve(&self.base_dir, data).join(tenant)
    }

    /// The database URL (secret: do not log it; use [`redact_url`]).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }
}

/// Passwords in `cam.toml` come from the environment or a file, never from
/// the file's text (which gets copied, committed and shared).
fn refuse_inline_secrets(mail: &MailConfig, alerts: &AlertsConfig) -> anyhow::Result<()> {
    let mut sources: Vec<(String, &SecretSource)> = Vec::new();
    for (i, smtp) in mail.smtp.iter().enumerate() {
        sources.push((format!("mail.smtp[{i}].password"), &smtp.password));
    }
    for (i, imap) in mail.imap.iter().enumerate() {
        sources.push((format!("mail.imap[{i}].password"), &imap.password));
    }
    if let Some(webhook) = &alerts.webhook {
        sources.push(("alerts.webhook.secret".into(), &webhook.secret));
    }
    for (field, source) in sources {
        if source.inline_value().is_some() {
            anyhow::bail!(
                "{field}: write {{ env = \"VARIABLE\" }} or {{ file = \"path\" }}; secrets are never \
                 written in cam.toml itself"
            );
        }
    }
    Ok(())
}

/// The text `cam init` writes.
pub const DEFAULT_CONFIG_TEXT: &str = r#"# cam configuration. Every value can be overridden by a CAM_* environment
# variable (CAM_DATABASE_URL, CAM_PLUGINS_DIR, CAM_OUTBOX_DIR, CAM_INBOX_DIR,
# CAM_TENANT, CAM_TIMEOUT_MS). Relative paths are relative to this file.

# SQLite is the embedded default; use postgres://user@host/db for hosted mode.
database_url = "sqlite://cam.db"
plugins_dir = "plugins"
# Dry-run mail: outgoing messages are written here as .eml files...
outbox_dir = "outbox"
# ...and replies are read from this Maildir.
inbox_dir = "inbox"
tenant = "default"

# Operator maxima for every plugin call; manifests can only lower them
# (a manifest's [limits] takes the same keys).
[limits]
timeout_ms = 2000
memory_mib = 256
max_output_kib = 16384
quarantine_after = 5
max_log_lines = 100
# Plugin calls one tenant may run at once in a process (the pool has 128).
max_concurrent_calls_per_tenant = 32

# Positive replies alert a human: by email (through the campaign's sender)
# and/or a signed webhook.
[alerts]
email = "operator@localhost"
# webhook = { url = "https://hooks.example.com/cam", secret = { env = "CAM_WEBHOOK_SECRET" } }

# Live mail, used by campaigns with `live = true` (others write to the outbox).
[mail]
# Where `cam serve` answers one-click unsubscribes (put it behind HTTPS).
# unsubscribe_url = "https://go.example.com/unsubscribe"
unsubscribe_key_file = "unsubscribe.key"

# One entry per sending mailbox ("*" matches any). Passwords come from the
# environment or a file, never from this file.
# [[mail.smtp]]
# mailbox = "anna@outreach.example.com"
# host = "smtp.example.com"
# security = "starttls"          # "tls" (465), "starttls" (587), "plain" (loopback only)
# username = "anna@outreach.example.com"
# password = { env = "CAM_SMTP_PASSWORD" }
# min_gap_ms = 2000              # pacing: least gap between two sends...
# jitter_ms = 3000               # ...plus up to this much at random

# [[mail.imap]]
# name = "anna"
# host = "imap.example.com"
# security = "tls"
# username = "anna@outreach.example.com"
# password = { env = "CAM_IMAP_PASSWORD" }
# folders = ["INBOX"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_database_url_never_shows_in_debug_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cam.toml");
        std::fs::write(&path, "database_url = \"postgres://cam:hunter2@db.internal/cam\"\n").expect("write");
        let config = Config::load(&path).expect("loads");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cam.toml");
        std::fs::write(&path, DEFAULT_CONFIG_TEXT).expect("write");
        let config = Config::load(&path).expect("loads");
        assert_eq!(config.plugins_dir, dir.path().join("plugins"));
        assert_eq!(
            config.database_url(),
            format!("sqlite://{}", dir.path().join("cam.db").display())
        );
        assert_eq!(config.limits.timeout, std::time::Duration::from_millis(2000));
    }

    #[test]
    fn a_password_written_into_the_config_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cam.toml");
        std::fs::write(
            &path,
            "[alerts]\nwebhook = { url = \"https://h.test/x\", secret = \"hunter2\" }\n",
        )
        .expect("write");
        let err = Config::load(&path).expect_err("inline secret");
        let text = format!("{err:#}");
        assert!(
            text.contains("alerts.webhook.secret") && !text.contains("hunter2"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_in_the_config_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cam.toml");
        std::fs::write(&path, "databse_url = \"x\"\n").expect("write");
        let err = Config::load(&path).expect_err("typo");
        assert!(format!("{err:#}").contains("databse_url"), "{err:#}");
    }
}
