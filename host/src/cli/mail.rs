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

use crate::config::Config;
use crate::domain::model::EmailState;
use crate::mail::recognise::{Recognised, recognise};
use crate::pipeline::{classifier_headers, label_name};
use crate::plugins::cache::CompileCache;
use crate::plugins::registry::wasm_files;
use crate::plugins::reloader::CACHE_DIR;
use crate::plugins::{LoadedPlugin, Manifest, PluginKind};
use crate::runtime::Runtime;
use crate::runtime::bindings::types::InboundReply;

/// `cam mail` subcommands.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Show how the host reads messages: bounce, complaint, auto-reply or
    /// human reply (with the reply classifier's label).
    Classify(ClassifyArgs),
    /// List emails that may or may not have left (the process or the
    /// connection died after the server got the message): never re-sent
    /// automatically; check the mail server's log, then `cam mail resolve`.
    Uncertain(UncertainArgs),
    /// Record what became of an UNCERTAIN email: `--sent` or `--not-sent`.
    Resolve(ResolveArgs),
    /// The newest alerts and every delivery attempt (the alert log).
    Alerts(AlertsArgs),
    /// Inbound messages not matched to any lead (kept, never dropped).
    Unmatched(UnmatchedArgs),
}

/// `cam mail unmatched` arguments.
#[derive(Debug, Args)]
pub struct UnmatchedArgs {
    /// How many, oldest first.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print JSON (without the raw bytes).
    #[arg(long)]
    pub json: bool,
}

/// `cam mail uncertain` arguments.
#[derive(Debug, Args)]
pub struct UncertainArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cam mail resolve` arguments.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("outcome").required(true).args(["sent", "not_sent"])))]
pub struct ResolveArgs {
    /// The email's id (from `cam mail uncertain`).
    pub id: i64,
    /// It did arrive: mark it SENT (its sequence goes on).
    #[arg(long)]
    pub sent: bool,
    /// It never left: mark it FAILED (it is not re-sent either).
    #[arg(long)]
    pub not_sent: bool,
}

/// `cam mail alerts` arguments.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// How many alerts, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
        MailCommand::Uncertain(args) => uncertain(config, args).await,
        MailCommand::Resolve(args) => resolve(config, args).await,
        MailCommand::Alerts(args) => alerts(config, args).await,
        MailCommand::Unmatched(args) => unmatched(config, args).await,
    }
}

async fn unmatched(config: &Config, args: UnmatchedArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(config.database_url()).await?;
    let messages = store.unmatched_inbound(&config.tenant, args.limit).await?;
    if args.json {
        let rows: Vec<_> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "mailbox": m.message.mailbox,
                    "message_id": m.message.message_id,
                    "from": m.message.from_address,
                    "subject": m.message.subject,
                    "received_at": m.message.received_at,
                    "label": m.label,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if messages.is_empty() {
        println!("every stored message is matched to a lead");
    }
    for m in &messages {
        println!(
            "#{}  {}  from {}  {:?}  ({}, {})",
            m.id,
            m.message.received_at.to_rfc3339(),
            m.message.from_address,
            m.message.subject,
            m.message.mailbox,
            m.message.message_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn uncertain(config: &Config, args: UncertainArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(config.database_url()).await?;
    let emails = store
        .emails_in_state(&config.tenant, None, EmailState::Uncertain, 10_000)
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&emails)?);
        return Ok(ExitCode::SUCCESS);
    }
    if emails.is_empty() {
        println!("no UNCERTAIN emails");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} emails may or may not have been sent; they are never re-sent automatically:",
        emails.len()
    );
    for email in &emails {
        let attempted = email.attempted_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        println!(
            "  #{}  to {}  from {}  step {}  {}  attempted {attempted}\n      {}",
            email.id,
            email.email.to_address,
            email.email.mailbox,
            email.email.step + 1,
            email.email.message_id,
            email.error.as_deref().unwrap_or("")
        );
    }
    println!("check the mail server's log for each Message-ID, then `cam mail resolve ID --sent` or `--not-sent`");
    Ok(ExitCode::SUCCESS)
}

async fn resolve(config: &Config, args: ResolveArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(config.database_url()).await?;
    let note = if args.sent {
        "operator: confirmed delivered"
    } else {
        "operator: confirmed not sent"
    };
    store
        .resolve_uncertain_email(&config.tenant, args.id, args.sent, note, chrono::Utc::now())
        .await
        .with_context(|| format!("cannot resolve email {}", args.id))?;
    println!("email {} marked {}", args.id, if args.sent { "SENT" } else { "FAILED" });
    Ok(ExitCode::SUCCESS)
}

async fn alerts(config: &Config, args: AlertsArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(config.database_url()).await?;
    let alerts = store.list_alerts(&config.tenant, args.limit).await?;
    let mut shown = Vec::new();
    for alert in alerts {
        let attempts = store.alert_attempts(&config.tenant, alert.id).await?;
        shown.push(serde_json::json!({ "alert": alert, "attempts": attempts }));
        if args.json {
            continue;
        }
        let state = match alert.delivered_at {
            Some(at) => format!("delivered {}", at.to_rfc3339()),
            None => "NOT DELIVERED yet".to_string(),
        };
        println!(
            "#{} {} {} ({state})",
            alert.id, alert.alert.kind, alert.alert.idempotency_key
        );
        for attempt in attempts {
            println!(
                "    {} {:<7} {} {}",
                attempt.attempt.at.to_rfc3339(),
                attempt.attempt.channel,
                if attempt.attempt.ok { "ok    " } else { "FAILED" },
                attempt.attempt.detail
            );
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else if shown.is_empty() {
        println!("no alerts");
    }
    Ok(ExitCode::SUCCESS)
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
                    Err(e) => reading.note = Some(format!("{e:#}")),
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

/// The reply classifier to use, or why there is none. Only the plugins
/// folder's reply classifiers are loaded (their manifests say which), each
/// through the folder's compile cache, the one the cycle uses, so a
/// JavaScript or Python classifier is compiled once, not on every run.
async fn pick_classifier(config: &Config, runtime: &Runtime, name: Option<&str>) -> Result<Arc<LoadedPlugin>, String> {
    let dir = &config.plugins_dir;
    if !dir.exists() {
        eprintln!(
            "note: no plugins folder at {}; campaigns' plugin steps will fail",
            dir.display()
        );
    }
    let files = if dir.exists() {
        wasm_files(dir).map_err(|e| {
            format!(
                "no reply classifier: cannot read the plugins folder {}: {e}",
                dir.display()
            )
        })?
    } else {
        Vec::new()
    };
    let mut candidates = Vec::new();
    for file in files {
        let manifest = match Manifest::load_for(&file) {
            Ok(manifest) => manifest,
            Err(e) => {
                eprintln!("warning: {} did not load: {e}", file.display());
                continue;
            }
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let plugin_name = manifest.name.clone().unwrap_or(stem);
        if name.is_some_and(|wanted| wanted != plugin_name) {
            continue;
        }
        if manifest.kind != PluginKind::ReplyClassifier {
            if let Some(name) = name {
                return Err(format!(
                    "plugin {name:?} is a {}, not a reply-classifier",
                    manifest.kind
                ));
            }
            continue;
        }
        candidates.push((plugin_name, file));
    }
    candidates.sort();
    let cache = Arc::new(CompileCache::new(dir.join(CACHE_DIR), runtime.engine()));
    for (_, file) in &candidates {
        let scope = runtime.scope(&config.tenant, None);
        match LoadedPlugin::load_file_cached(runtime, file, Some(cache.clone()), scope).await {
            Ok((plugin, _)) => return Ok(Arc::new(plugin)),
            Err(error) => eprintln!("warning: {} did not load: {error}", file.display()),
        }
    }
    Err(match name {
        Some(name) => format!("no plugin {name:?} in {}; see `cam plugins list`", dir.display()),
        None => format!(
            "no reply-classifier plugin in {}: human replies are not labelled",
            dir.display()
        ),
    })
}

/// Asks the classifier about one human reply.
async fn ask(plugin: &LoadedPlugin, runtime: &Runtime, tenant: &str, raw: &[u8]) -> anyhow::Result<PluginLabel> {
    let parsed = crate::mail::message::parse(raw).context("not parseable as an email")?;
    let reply = InboundReply {
        from: parsed.from,
        subject: parsed.subject,
        body: parsed.body_text,
        headers: classifier_headers(parsed.headers),
        lead: None,
        received_at: chrono::Utc::now().timestamp(),
    };
    let classification = plugin
        .classify(runtime.scope(tenant, None), &reply)
        .await
        .with_context(|| format!("{} failed", plugin.name()))?;
    Ok(PluginLabel {
        plugin: format!("{}@{}", plugin.name(), plugin.version()),
        label: label_name(&classification.label),
        confidence: classification.confidence,
        reason: classification.reason,
    })
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
