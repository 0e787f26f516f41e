//! The Rust scaffold: a standalone crate on the cam plugin SDK. `cargo build
//! --release` leaves `target/wasm32-wasip2/release/NAME.wasm` and, copied by
//! the crate's build script, `NAME.toml` beside it.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::{Scaffold, manifest};
use crate::plugins::PluginKind;

/// The files of a Rust plugin crate depending on the SDK at `sdk`.
pub fn scaffold(kind: PluginKind, name: &str, sdk: &Path) -> anyhow::Result<Scaffold> {
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
    let wasm = format!("target/wasm32-wasip2/release/{crate_name}.wasm");
    Ok(Scaffold {
        files: vec![
            ("Cargo.toml".into(), cargo_toml(kind, name, &sdk)),
            (
                ".cargo/config.toml".into(),
                "[build]\ntarget = \"wasm32-wasip2\"\n".to_string(),
            ),
            (
                "rust-toolchain.toml".into(),
                "[toolchain]\nchannel = \"stable\"\ntargets = [\"wasm32-wasip2\"]\n".to_string(),
            ),
            (".gitignore".into(), "/target\n".to_string()),
            ("build.rs".into(), build_rs(&crate_name)),
            ("src/lib.rs".into(), lib_rs(kind)),
            (format!("{crate_name}.toml"), manifest(kind, "cam_plugin_sdk::config")),
            ("README.md".into(), readme(kind, name, &crate_name, &wasm)),
        ],
        build: "cargo build --release".into(),
        wasm,
    })
}

/// Copies the manifest beside the `.wasm`, so the build's output is ready for
/// `cam plugins check` and for copying into a plugins folder.
fn build_rs(crate_name: &str) -> String {
    format!(
        r#"//! Puts `{crate_name}.toml` beside the built `.wasm`.

fn main() {{
    println!("cargo:rerun-if-changed={crate_name}.toml");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target dir>/wasm32-wasip2/<profile>/build/<package>-<hash>/out.
    let artifacts = out_dir.ancestors().nth(3).expect("OUT_DIR is inside the target dir");
    std::fs::copy("{crate_name}.toml", artifacts.join("{crate_name}.toml")).expect("copy the manifest beside the .wasm");
}}
"#
    )
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

fn readme(kind: PluginKind, name: &str, crate_name: &str, wasm: &str) -> String {
    format!(
        r#"# {name}

A cam `{kind}` plugin in Rust.

    cargo build --release
    cam plugins check {wasm}

`cargo build` needs the `wasm32-wasip2` target (`rustup target add wasm32-wasip2`;
`rust-toolchain.toml` asks rustup for it). The build leaves `{crate_name}.wasm`
and its manifest `{crate_name}.toml` side by side in `target/wasm32-wasip2/release/`:
copy both into the plugins folder, and a running worker picks them up.
"#
    )
}
