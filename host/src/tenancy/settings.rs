//! A hosted tenant's settings: its sending mailboxes, where its replies are
//! read, its alert channels, its sender identity and its unsubscribe links.
//! They live in the database, sealed whole under the server key
//! ([`super::sealing`]); the embedded default reads the same things from
//! `cam.toml` instead.
//!
//! Written as TOML (`cam tenants settings set`) or JSON (`PUT
//! /api/v1/settings`) in the shape of `cam.toml`'s `[mail]` and `[alerts]`,
//! except that secrets are given as values (`password = "…"`): a tenant's
//! settings may not read the worker's environment or files. Shown back, every
//! secret reads `"***"`; sending `"***"` (or leaving a secret out) keeps the
//! one already stored.

use std::collections::BTreeMap;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::sealing::ServerKeys;
use crate::config::{AlertsConfig, ImapConfig, Secret, SecretSource, SmtpConfig};
use crate::domain::campaign_def::FieldProblem;

pub use crate::config::REDACTED;

/// The sender identity: who the tenant's emails are from by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderIdentity {
    /// The display name (`Anna from Acme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The address campaigns without mailboxes of their own send from.
    pub address: String,
}

/// The tenant's mail: like `cam.toml`'s `[mail]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantMail {
    /// Sending mailboxes.
    #[serde(default)]
    pub smtp: Vec<SmtpConfig>,
    /// Inboxes replies are read from.
    #[serde(default)]
    pub imap: Vec<ImapConfig>,
    /// Where one-click unsubscribes are answered (`https://…/unsubscribe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
}

/// What a tenant's new campaigns get when their definition leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignDefaults {
    /// The campaign's rolling-24-hour cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<u32>,
    /// The send window (`start`, `end`, `days`, `fallback_tz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::domain::campaign_def::WindowDef>,
}

impl CampaignDefaults {
    /// `definition` (a campaign definition as JSON) with each default it
    /// leaves out filled in.
    pub fn apply(&self, definition: &mut serde_json::Value) {
        let Some(fields) = definition.as_object_mut() else {
            return;
        };
        if let Some(cap) = self.daily_cap {
            fields.entry("daily_cap").or_insert_with(|| cap.into());
        }
        if let Some(window) = &self.window
            && !fields.contains_key("window")
        {
            fields.insert(
                "window".into(),
                serde_json::to_value(window).expect("a window serializes"),
            );
        }
    }
}

/// A hosted tenant's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Who its emails are from by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderIdentity>,
    /// Its mailboxes and inboxes.
    #[serde(default)]
    pub mail: TenantMail,
    /// Its alert channels.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// What its new campaigns get when their definition leaves it out.
    #[serde(default)]
    pub defaults: CampaignDefaults,
}

/// Settings with the secrets that go with them, as sealed in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSettings {
    /// The settings (secrets inside them are filled in).
    pub settings: TenantSettings,
    /// The key that signs this tenant's unsubscribe links (never shown).
    pub unsubscribe_key: Vec<u8>,
}

impl std::fmt::Debug for SealedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSettings")
            .field("settings", &self.settings)
            .field("unsubscribe_key", &REDACTED)
            .finish()
    }
}

/// The sealed document's plain form.
#[derive(Serialize, Deserialize)]
struct Document {
    settings: serde_json::Value,
    secrets: BTreeMap<String, String>,
    unsubscribe_key: String,
}

impl TenantSettings {
    /// Parses the TOML of `cam tenants settings set`.
    pub fn from_toml(text: &str) -> anyhow::Result<TenantSettings> {
        toml::from_str(text).context("the settings are not valid")
    }

    /// Every secret with a name that stays put when entries are reordered.
    fn secrets_mut(&mut self) -> Vec<(String, &mut SecretSource)> {
        let mut slots = Vec::new();
        for smtp in &mut self.mail.smtp {
            slots.push((format!("smtp:{}", smtp.mailbox), &mut smtp.password));
        }
        for imap in &mut self.mail.imap {
            slots.push((format!("imap:{}", imap.name), &mut imap.password));
        }
        if let Some(webhook) = &mut self.alerts.webhook {
            slots.push(("webhook".to_string(), &mut webhook.secret));
        }
        slots
    }

    /// The settings as shown: every secret `"***"`.
    pub fn redacted(&self) -> TenantSettings {
        let mut shown = self.clone();
        for (_, source) in shown.secrets_mut() {
            if source.is_set() {
                *source = SecretSource::value(Secret::new(REDACTED));
            }
        }
        shown
    }

    /// Fills each secret left out or given as `"***"` from `current` (the
    /// stored settings), by its mailbox, inbox or channel.
    pub fn keeping_secrets_of(mut self, current: &TenantSettings) -> TenantSettings {
        let mut current = current.clone();
        let kept: BTreeMap<String, SecretSource> = current
            .secrets_mut()
            .into_iter()
            .map(|(slot, source)| (slot, source.clone()))
            .collect();
        for (slot, source) in self.secrets_mut() {
            let left_out = !source.is_set() || source.is_value(REDACTED);
            if let (true, Some(stored)) = (left_out, kept.get(&slot)) {
                *source = stored.clone();
            }
        }
        self
    }

    /// What is wrong with these settings, each with the field it is about.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut problem = |field: String, message: String| problems.push(FieldProblem { field, message });
        if let Some(sender) = &self.sender
            && let Err(e) = crate::domain::email::normalize(&sender.address)
        {
            problem("sender.address".into(), e.to_string());
        }
        let mut mailboxes = std::collections::HashSet::new();
        for (i, smtp) in self.mail.smtp.iter().enumerate() {
            let at = |f: &str| format!("mail.smtp[{i}].{f}");
            if !mailboxes.insert(smtp.mailbox.as_str()) {
                problem(at("mailbox"), format!("{} is listed twice", smtp.mailbox));
            }
            if smtp.mailbox != "*"
                && let Err(e) = crate::domain::email::normalize(&smtp.mailbox)
            {
                problem(at("mailbox"), e.to_string());
            }
            if let Err(e) = smtp.security.check_host(&smtp.host) {
                problem(at("security"), e.to_string());
            }
            if smtp.ca_file.is_some() {
                problem(at("ca_file"), NO_FILES.into());
            }
            if smtp.username.is_some() && !smtp.password.is_set() {
                problem(at("password"), "a username needs its password".into());
            }
            check_source(&smtp.password, &at("password"), &mut problem);
        }
        let mut names = std::collections::HashSet::new();
        for (i, imap) in self.mail.imap.iter().enumerate() {
            let at = |f: &str| format!("mail.imap[{i}].{f}");
            if !names.insert(imap.name.as_str()) {
                problem(at("name"), format!("{} is listed twice", imap.name));
            }
            if let Err(e) = imap.security.check_host(&imap.host) {
                problem(at("security"), e.to_string());
            }
            if imap.ca_file.is_some() {
                problem(at("ca_file"), NO_FILES.into());
            }
            if !imap.password.is_set() {
                problem(at("password"), "give the password of the inbox".into());
            }
            check_source(&imap.password, &at("password"), &mut problem);
        }
        if self.mail.smtp.is_empty() != self.mail.imap.is_empty() {
            problem(
                "mail".into(),
                "give both smtp and imap entries (live campaigns send and read replies), or neither".into(),
            );
        }
        if let Some(url) = &self.mail.unsubscribe_url
            && !url.starts_with("https://")
        {
            problem("mail.unsubscribe_url".into(), "must be an https:// address".into());
        }
        if let Some(email) = self.alerts.email.as_deref().filter(|e| !e.trim().is_empty())
            && let Err(e) = crate::domain::email::normalize(email)
        {
            problem("alerts.email".into(), e.to_string());
        }
        if let Some(webhook) = &self.alerts.webhook {
            if let Err(e) = crate::webhook::check_url(&webhook.url) {
                problem("alerts.webhook.url".into(), format!("{e:#}"));
            }
            if !webhook.secret.is_set() {
                problem("alerts.webhook.secret".into(), "give the signing secret".into());
            }
            check_source(&webhook.secret, "alerts.webhook.secret", &mut problem);
        }
        if self.defaults.daily_cap == Some(0) {
            problem("defaults.daily_cap".into(), "must be greater than 0".into());
        }
        if let Some(window) = &self.defaults.window {
            let mut probe = crate::domain::campaign_def::CampaignDef::with_defaults("defaults");
            probe.window = window.clone();
            if let Err(e) = probe.send_window() {
                problem("defaults.window".into(), e.to_string());
            }
        }
        problems
    }

    /// Seals these settings (with `unsubscribe_key`, or a new random one)
    /// for `tenant`.
    pub fn seal(&self, keys: &ServerKeys, tenant: &str, unsubscribe_key: Option<&[u8]>) -> String {
        let mut shown = self.clone();
        let mut secrets = BTreeMap::new();
        for (slot, source) in shown.secrets_mut() {
            if let Some(value) = source.inline_value() {
                secrets.insert(slot, value.expose().to_string());
            }
        }
        let key = unsubscribe_key.map(<[u8]>::to_vec).unwrap_or_else(|| {
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            key
        });
        let document = Document {
            settings: serde_json::to_value(&shown).expect("settings serialize"),
            secrets,
            unsubscribe_key: STANDARD.encode(key),
        };
        keys.seal(tenant, &serde_json::to_vec(&document).expect("a document serializes"))
    }
}

impl SealedSettings {
    /// Opens what [`TenantSettings::seal`] sealed for `tenant`.
    pub fn open(keys: &ServerKeys, tenant: &str, sealed: &str) -> anyhow::Result<SealedSettings> {
        let plain = keys
            .open(tenant, sealed)
            .map_err(|e| anyhow::anyhow!("the settings of tenant {tenant:?} do not open: {e}"))?;
        let document: Document = serde_json::from_slice(&plain)
            .with_context(|| format!("the settings of tenant {tenant:?} are not a settings document"))?;
        let mut settings: TenantSettings = serde_json::from_value(document.settings)
            .with_context(|| format!("the settings of tenant {tenant:?} do not read"))?;
        for (slot, source) in settings.secrets_mut() {
            if let Some(value) = document.secrets.get(&slot) {
                *source = SecretSource::value(Secret::new(value.clone()));
            }
        }
        let unsubscribe_key = STANDARD
            .decode(document.unsubscribe_key)
            .with_context(|| format!("the unsubscribe key of tenant {tenant:?} is not base64"))?;
        Ok(SealedSettings {
            settings,
            unsubscribe_key,
        })
    }
}

const NO_FILES: &str =
    "hosted tenants cannot name files on the worker; ask the hosting operator to add the CA to the system's roots";

fn check_source(source: &SecretSource, field: &str, problem: &mut impl FnMut(String, String)) {
    if source.env.is_some() || source.file.is_some() {
        problem(
            field.to_string(),
            "give the secret itself (it is sealed in the database); hosted tenants cannot read the worker's \
             environment or files"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: &str = r#"
        [sender]
        name = "Anna from Acme"
        address = "anna@acme.test"

        [[mail.smtp]]
        mailbox = "anna@acme.test"
        host = "smtp.acme.test"
        security = "starttls"
        username = "anna"
        password = "smtp-hunter2"

        [[mail.imap]]
        name = "anna"
        host = "imap.acme.test"
        security = "tls"
        username = "anna"
        password = "imap-hunter2"

        [alerts]
        email = "ops@acme.test"
        webhook = { url = "https://hooks.acme.test/cam", secret = "hook-hunter2" }

        [defaults]
        daily_cap = 25
        window = { start = "08:00", end = "12:00", days = ["tue"], fallback_tz = "Europe/Berlin" }
    "#;

    fn keys() -> (tempfile::TempDir, ServerKeys) {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = ServerKeys::add_new_key(&dir.path().join("k"), "k1").expect("key");
        (dir, keys)
    }

    #[test]
    fn settings_round_trip_through_the_seal_with_their_secrets() {
        let (_dir, keys) = keys();
        let settings = TenantSettings::from_toml(SETTINGS).expect("parses");
        assert!(settings.problems().is_empty(), "{:?}", settings.problems());
        let sealed = settings.seal(&keys, "acme", None);
        for secret in ["smtp-hunter2", "imap-hunter2", "hook-hunter2", "anna@acme.test"] {
            assert!(!sealed.contains(secret), "{secret} shows in the sealed value");
        }
        let opened = SealedSettings::open(&keys, "acme", &sealed).expect("opens");
        assert_eq!(opened.settings, settings);
        assert_eq!(opened.unsubscribe_key.len(), 32);
        let again = SealedSettings::open(
            &keys,
            "acme",
            &settings.seal(&keys, "acme", Some(&opened.unsubscribe_key)),
        )
        .expect("opens");
        assert_eq!(again.unsubscribe_key, opened.unsubscribe_key);
        assert!(SealedSettings::open(&keys, "beta", &sealed).is_err());
    }

    #[test]
    fn shown_settings_hide_every_secret_and_sending_them_back_keeps_them() {
        let settings = TenantSettings::from_toml(SETTINGS).expect("parses");
        let shown = settings.redacted();
        let text = serde_json::to_string(&shown).expect("json");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(REDACTED), "{text}");
        assert!(!format!("{settings:?}").contains("hunter2"));
        // Sent back as shown, with the smtp entries reordered: nothing lost.
        let mut edited: TenantSettings = serde_json::from_str(&text).expect("reads back");
        edited.alerts.email = Some("night@acme.test".into());
        let kept = edited.keeping_secrets_of(&settings);
        assert_eq!(
            kept.mail.smtp[0].password.inline_value().map(Secret::expose),
            Some("smtp-hunter2")
        );
        assert_eq!(
            kept.alerts
                .webhook
                .as_ref()
                .and_then(|w| w.secret.inline_value())
                .map(Secret::expose),
            Some("hook-hunter2")
        );
        assert_eq!(kept.alerts.email.as_deref(), Some("night@acme.test"));
    }

    #[test]
    fn settings_that_would_read_the_workers_files_or_environment_are_refused_by_field() {
        let text = SETTINGS
            .replace(
                "password = \"smtp-hunter2\"",
                "password = { env = \"CAM_SERVER_KEY_FILE\" }",
            )
            .replace("security = \"tls\"", "security = \"plain\"")
            .replace("ops@acme.test", "not an address");
        let settings = TenantSettings::from_toml(&format!("{text}\n")).expect("parses");
        let fields: Vec<_> = settings.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["mail.smtp[0].password", "mail.imap[0].security", "alerts.email"],
            "{:?}",
            settings.problems()
        );
    }
}

#[cfg(test)]
mod defaults_tests {
    use super::*;

    #[test]
    fn defaults_fill_only_what_a_definition_leaves_out() {
        let defaults: CampaignDefaults =
            toml::from_str("daily_cap = 25\nwindow = { start = \"08:00\", end = \"12:00\", days = [\"tue\"], fallback_tz = \"UTC\" }\n")
                .expect("parses");
        let mut bare = serde_json::json!({ "name": "a" });
        defaults.apply(&mut bare);
        assert_eq!(bare["daily_cap"], 25);
        assert_eq!(bare["window"]["start"], "08:00:00");
        let mut own = serde_json::json!({ "name": "b", "daily_cap": 5 });
        defaults.apply(&mut own);
        assert_eq!(own["daily_cap"], 5, "the definition's own value stays");
        let bad = TenantSettings {
            defaults: CampaignDefaults {
                daily_cap: Some(0),
                window: Some(crate::domain::campaign_def::WindowDef {
                    fallback_tz: "Mars/Olympus".into(),
                    ..crate::domain::campaign_def::WindowDef::default()
                }),
            },
            ..TenantSettings::default()
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["defaults.daily_cap", "defaults.window"]);
    }
}
