//! `cam mail classify FILE.eml...`: how the host reads each message — a
//! bounce (recipient, status, hard/soft/block), a spam complaint, an
//! auto-reply, or a human reply, which then goes to the reply-classifier
//! plugin (the first one in the plugins folder, or `--plugin NAME`) for its
//! label and confidence. So an operator can check a message the pipeline
//! got wrong.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::cycle::load_plugins;
use crate::config::Config;
use crate::mail::recognise::{Recognised, recognise};
use crate::plugins::{LoadedPlugin, PluginKind};
use crate::runtime::Runtime;
use crate::runtime::bindings::types::{Attribute, BounceKind, InboundReply, ReplyLabel};

/// Headers shown to the classifier, as the pipeline's classify step shows
/// them (`pipeline/classify.rs`).
const CLASSIFIER_HEADERS: &[&str] = &[
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "content-language",
    "in-reply-to",
    "list-id",
];

/// `cam mail` subcommands.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Show how the host reads messages: bounce, complaint, auto-reply or
    /// human reply (with the reply classifier's label).
    Classify(ClassifyArgs),
}

/// `cam mail classify` arguments.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The messages, as `.eml` files (raw RFC 5322).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The reply-classifier plugin for human replies (default: the first
    /// one in the plugins folder).
    #[arg(long)]
    pub plugin: Option<String>,
    /// Print one JSON object per file, as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// What the classifier plugin said about a human reply.
#[derive(Debug, Clone, Serialize)]
pub struct PluginLabel {
    /// `name@version` of the plugin.
    pub plugin: String,
    /// The label's stored name (`interested`, `out-of-office`...).
    pub label: String,
    /// 0 to 1.
    pub confidence: f32,
    /// The plugin's reason.
    pub reason: String,
}

/// How one file reads.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    /// The file as given.
    pub file: String,
    /// What the host recognised; `None` for a human reply.
    pub host: Option<Recognised>,
    /// For a human reply: the classifier's verdict, when one ran.
    pub classifier: Option<PluginLabel>,
    /// Why a human reply has no classifier verdict.
    pub note: Option<String>,
    /// Why the file could not be read at all.
    pub error: Option<String>,
}

/// Runs `cam mail ...`.
pub async fn run(config: &Config, command: MailCommand) -> anyhow::Result<ExitCode> {
    match command {
        MailCommand::Classify(args) => classify(config, args).await,
    }
}

async fn classify(config: &Config, args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let mut classifier: Option<Result<Arc<LoadedPlugin>, String>> = None;
    let mut runtime: Option<Runtime> = None;
    let mut readings = Vec::new();
    let mut unreadable = false;
    for file in &args.files {
        let mut reading = Reading {
            file: file.display().to_string(),
            host: None,
            classifier: None,
            note: None,
            error: None,
        };
        let raw = match std::fs::read(file) {
            Ok(raw) => raw,
            Err(e) => {
                unreadable = true;
                reading.error = Some(format!("cannot read the file: {e}"));
                readings.push(reading);
                continue;
            }
        };
        reading.host = recognise(&raw);
        if reading.host.is_none() {
            if classifier.is_none() {
                let rt = Runtime::new(config.limits).context("starting the plugin runtime")?;
                classifier = Some(pick_classifier(config, &rt, args.plugin.as_deref()).await);
                runtime = Some(rt);
            }
            match (classifier.as_ref(), runtime.as_ref()) {
                (Some(Ok(plugin)), Some(rt)) => match ask(plugin, rt, &config.tenant, &raw).await {
                    Ok(label) => reading.classifier = Some(label),
                    Err(e) => reading.note = Some(e),
                },
                (Some(Err(why)), _) => reading.note = Some(why.clone()),
                _ => {}
            }
        }
        readings.push(reading);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&readings)?);
    } else {
        for reading in &readings {
            println!("{}", describe(reading));
        }
    }
    Ok(if unreadable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The reply classifier to use, or why there is none.
async fn pick_classifier(config: &Config, runtime: &Runtime, name: Option<&str>) -> Result<Arc<LoadedPlugin>, String> {
    let registry = load_plugins(runtime, &config.plugins_dir, &config.tenant)
        .await
        .map_err(|e| format!("no reply classifier: {e:#}"))?;
    let mut plugins = registry.list();
    plugins.sort_by(|a, b| a.name().cmp(b.name()));
    match name {
        Some(name) => match plugins.into_iter().find(|p| p.name() == name) {
            Some(p) if p.kind() == PluginKind::ReplyClassifier => Ok(p),
            Some(p) => Err(format!("plugin {name:?} is a {}, not a reply-classifier", p.kind())),
            None => Err(format!(
                "no plugin {name:?} in {}; see `cam plugins list`",
                config.plugins_dir.display()
            )),
        },
        None => plugins
            .into_iter()
            .find(|p| p.kind() == PluginKind::ReplyClassifier)
            .ok_or_else(|| {
                format!(
                    "no reply-classifier plugin in {}: human replies are not labelled",
                    config.plugins_dir.display()
                )
            }),
    }
}

/// Asks the classifier about one human reply.
async fn ask(plugin: &LoadedPlugin, runtime: &Runtime, tenant: &str, raw: &[u8]) -> Result<PluginLabel, String> {
    let parsed = crate::mail::message::parse(raw).ok_or("not parseable as an email")?;
    let reply = InboundReply {
        from: parsed.from,
        subject: parsed.subject,
        body: parsed.body_text,
        headers: parsed
            .headers
            .into_iter()
            .filter(|(name, _)| CLASSIFIER_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
            .map(|(key, value)| Attribute { key, value })
            .collect(),
        lead: None,
        received_at: chrono::Utc::now().timestamp(),
    };
    let classification = plugin
        .classify(runtime.scope(tenant, None), &reply)
        .await
        .map_err(|e| format!("{} failed: {e}", plugin.name()))?;
    Ok(PluginLabel {
        plugin: format!("{}@{}", plugin.name(), plugin.version()),
        label: label_name(&classification.label),
        confidence: classification.confidence,
        reason: classification.reason,
    })
}

/// The stored name of a label, as the pipeline stores it.
fn label_name(label: &ReplyLabel) -> String {
    match label {
        ReplyLabel::Interested => "interested",
        ReplyLabel::NotInterested => "not-interested",
        ReplyLabel::Referral(_) => "referral",
        ReplyLabel::Question => "question",
        ReplyLabel::OutOfOffice(_) => "out-of-office",
        ReplyLabel::Unsubscribe => "unsubscribe",
        ReplyLabel::Bounce(BounceKind::Hard) => "bounce-hard",
        ReplyLabel::Bounce(BounceKind::Soft) => "bounce-soft",
        ReplyLabel::AutoReply => "auto-reply",
        ReplyLabel::Unknown => "unknown",
    }
    .to_string()
}

/// One human-readable line (two with a note) for a reading.
fn describe(reading: &Reading) -> String {
    if let Some(error) = &reading.error {
        return format!("{}: {error}", reading.file);
    }
    let what = match &reading.host {
        Some(Recognised::Bounce {
            class,
            status,
            recipient,
            diagnostic,
            ..
        }) => {
            let mut line = format!(
                "bounce ({}) {status} for {}",
                class.as_str(),
                recipient.as_deref().unwrap_or("an unnamed recipient")
            );
            if !diagnostic.is_empty() {
                line.push_str(&format!(": {diagnostic}"));
            }
            line
        }
        Some(Recognised::Complaint {
            recipient,
            feedback_type,
            ..
        }) => format!(
            "complaint ({feedback_type}) from {}",
            recipient.as_deref().unwrap_or("an unnamed recipient")
        ),
        Some(Recognised::AutoReply { reason }) => format!("auto-reply ({reason})"),
        None => match &reading.classifier {
            Some(label) => format!(
                "human reply: {} ({:.2}) by {}{}",
                label.label,
                label.confidence,
                label.plugin,
                if label.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", label.reason)
                }
            ),
            None => "human reply".to_string(),
        },
    };
    match &reading.note {
        Some(note) if reading.host.is_none() => format!("{}: {what}\n  note: {note}", reading.file),
        _ => format!("{}: {what}", reading.file),
    }
}
