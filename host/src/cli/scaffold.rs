//! `cam plugins new`: writes a standalone plugin crate that builds into a
//! loadable component with `cargo build --release`.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::plugins::PluginKind;

/// Creates the crate for a `kind` plugin called `name` in `dir`, depending on
/// the SDK at `sdk`. Refuses to write into a non-empty folder.
pub fn create(kind: PluginKind, name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<()> {
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        bail!("`{name}` is not a valid plugin name: use letters, digits, `-` and `_`, starting with a letter");
    }
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty; pick another --dir", dir.display());
    }
    if !sdk.join("Cargo.toml").exists() {
        bail!(
            "no cam-plugin-sdk at {}; pass --sdk /path/to/cam/plugins/sdk",
            sdk.display()
        );
    }
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("resolving {}", sdk.display()))?;
    let crate_name = name.replace('-', "_");
    let files = [
        ("Cargo.toml", cargo_toml(kind, name, &sdk)),
        (
            ".cargo/config.toml",
            "[build]\ntarget = \"wasm32-wasip2\"\n".to_string(),
        ),
        (
            "rust-toolchain.toml",
            "[toolchain]\nchannel = \"stable\"\ntargets = [\"wasm32-wasip2\"]\n".to_string(),
        ),
        (".gitignore", "/target\n".to_string()),
        ("src/lib.rs", lib_rs(kind)),
        (&format!("{crate_name}.toml"), manifest(kind)),
        ("README.md", readme(kind, name, &crate_name)),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn cargo_toml(kind: PluginKind, name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
cam-plugin-sdk = {{ path = {sdk:?}, features = ["{kind}"] }}

# A standalone crate, not part of any surrounding workspace.
[workspace]

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
strip = true
"#,
        sdk = sdk.display().to_string(),
    )
}

fn lib_rs(kind: PluginKind) -> String {
    let body = match kind {
        PluginKind::LeadSource => {
            r#"use cam_plugin_sdk::{Capability, Lead, LeadPage, LeadSource, PluginInfo};

/// The plugin.
pub struct Plugin;

/// Addresses served one page at a time; replace with a call to your API
/// (see `cam_plugin_sdk::http`, and grant the host in the manifest).
const EMAILS: &[&str] = &["ada@example.com", "grace@example.org", "linus@example.net"];

impl LeadSource for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "Serves a fixed list of leads", &[Capability::Log])
    }

    fn next_page(cursor: Option<String>, limit: u32) -> Result<LeadPage, String> {
        let start: usize = cursor.as_deref().unwrap_or("0").parse().map_err(|_| format!("bad cursor {cursor:?}"))?;
        let end = (start + limit as usize).min(EMAILS.len());
        let leads = EMAILS[start.min(end)..end].iter().map(|e| Lead::with_email(e)).collect();
        cam_plugin_sdk::info!("served leads {start}..{end}");
        Ok(LeadPage { leads, next_cursor: (end < EMAILS.len()).then(|| end.to_string()) })
    }
}

cam_plugin_sdk::export_lead_source!(Plugin);
"#
        }
        PluginKind::Enricher => {
            r#"use cam_plugin_sdk::{Capability, Enricher, Enrichment, Lead, PluginInfo};

/// The plugin.
pub struct Plugin;

impl Enricher for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "Derives the company domain from the email", &[])
    }

    fn enrich(leads: Vec<Lead>) -> Vec<Result<Enrichment, String>> {
        leads
            .iter()
            .map(|lead| {
                let (_, domain) = lead.email.split_once('@').ok_or_else(|| format!("`{}` has no @", lead.email))?;
                let mut enrichment = Enrichment::unchanged(true);
                enrichment.domain = Some(domain.to_ascii_lowercase());
                Ok(enrichment)
            })
            .collect()
    }
}

cam_plugin_sdk::export_enricher!(Plugin);
"#
        }
        PluginKind::Scorer => {
            r#"use cam_plugin_sdk::{Capability, Lead, PluginInfo, Score, Scorer};

/// The plugin.
pub struct Plugin;

impl Scorer for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "Prefers leads with a senior title", &[Capability::Log])
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        cam_plugin_sdk::debug!("scoring {} leads", leads.len());
        Ok(leads
            .iter()
            .map(|lead| {
                let title = lead.title.to_ascii_lowercase();
                if ["ceo", "cto", "founder", "vp", "head"].iter().any(|k| title.contains(k)) {
                    Score::new(0.9, vec![format!("senior title: {}", lead.title)])
                } else {
                    Score::new(0.3, vec!["no senior title".into()])
                }
            })
            .collect())
    }
}

cam_plugin_sdk::export_scorer!(Plugin);
"#
        }
        PluginKind::ReplyClassifier => {
            r#"use cam_plugin_sdk::{Capability, Classification, InboundReply, PluginInfo, ReplyClassifier, ReplyLabel};

/// The plugin.
pub struct Plugin;

impl ReplyClassifier for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "Keyword reply classifier", &[])
    }

    fn classify(reply: InboundReply) -> Classification {
        let body = reply.body.to_lowercase();
        if body.contains("unsubscribe") || body.contains("remove me") {
            Classification::new(ReplyLabel::Unsubscribe, 0.9, "asks to be removed")
        } else if body.contains("not interested") || body.contains("no thanks") {
            Classification::new(ReplyLabel::NotInterested, 0.8, "declines")
        } else if body.contains("interested") || body.contains("let's talk") || body.contains("call") {
            Classification::new(ReplyLabel::Interested, 0.7, "positive wording")
        } else {
            Classification::new(ReplyLabel::Unknown, 0.2, "no rule matched")
        }
    }
}

cam_plugin_sdk::export_reply_classifier!(Plugin);
"#
        }
        PluginKind::DecisionRule => {
            r#"use cam_plugin_sdk::{Action, CampaignSnapshot, CampaignStatus, Capability, Decision, DecisionRule, PluginInfo};

/// The plugin.
pub struct Plugin;

impl DecisionRule for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "Pauses a campaign whose bounce rate passes 5%", &[])
    }

    fn decide(snapshot: CampaignSnapshot) -> Vec<Decision> {
        let m = &snapshot.metrics;
        if snapshot.status == CampaignStatus::Running && m.sent >= 20 && m.bounced * 20 > m.sent {
            let rate = 100.0 * m.bounced as f32 / m.sent as f32;
            return vec![Decision::new(Action::PauseCampaign, format!("bounce rate {rate:.1}% > 5%"))];
        }
        vec![]
    }
}

cam_plugin_sdk::export_decision_rule!(Plugin);
"#
        }
    };
    format!("//! A cam {kind} plugin. Build: `cargo build --release`.\n\n{body}")
}

fn manifest(kind: PluginKind) -> String {
    let log = matches!(kind, PluginKind::LeadSource | PluginKind::Scorer);
    format!(
        r#"# The manifest the host reads beside the .wasm: copy both into the plugins folder.
kind = "{kind}"

# Host capabilities, each denied unless granted here:
[capabilities]
log = {log}
# config = true
# kv = {{ quota_bytes = 65536 }}
# http = {{ allow = ["api.example.com"] }}
# clock = true

# Optional: lower the operator's limits for this plugin.
# [limits]
# timeout_ms = 500

# Settings read with cam_plugin_sdk::config (needs `config = true`).
[config]
"#
    )
}

fn readme(kind: PluginKind, name: &str, crate_name: &str) -> String {
    format!(
        r#"# {name}

A cam `{kind}` plugin.

    cargo build --release
    cam plugins check target/wasm32-wasip2/release/{crate_name}.wasm

`cargo build` needs the `wasm32-wasip2` target (`rustup target add wasm32-wasip2`;
`rust-toolchain.toml` asks rustup for it). To install, copy
`target/wasm32-wasip2/release/{crate_name}.wasm` and `{crate_name}.toml` into the
plugins folder; a running worker picks them up.
"#
    )
}
