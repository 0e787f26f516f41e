//! `cam demo`: the whole story in one command, with nothing but the binary.
//!
//! In a fresh folder it creates a SQLite database, a demo tenant and a
//! campaign bound to the built-in example plugins, imports the example
//! leads, runs a cycle, drops the example replies into the inbox (addressed
//! to leads that were really written to, threaded under the Message-IDs
//! really sent), runs the following cycles on a clock it moves forward, and
//! narrates each step.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use clap::Args;

use super::init::BUILTIN_PLUGINS;
use crate::app::App;
use crate::domain::campaign_def::CampaignDef;
use crate::domain::model::{Campaign, CampaignStatus, EmailState};
use crate::import::{ImportOptions, ImportTarget, import_leads};
use crate::mail::maildir::MaildirInbox;
use crate::mail::message::parse;
use crate::mail::recognise::{Recognised, recognise};
use crate::pipeline::{CycleReport, FixedClock, StepStatus};
use crate::plugins::{PluginKind, PluginRegistry};
use crate::store::Store;

/// The example leads (`examples/leads.csv`).
pub const LEADS_CSV: &str = include_str!("../../../examples/leads.csv");
/// The example campaign (`examples/campaign.toml`).
pub const CAMPAIGN_TOML: &str = include_str!("../../../examples/campaign.toml");
/// The example replies (`examples/replies/*.eml`), by name.
pub const EXAMPLE_REPLIES: &[(&str, &str)] = &[
    ("interested", include_str!("../../../examples/replies/interested.eml")),
    (
        "not-interested",
        include_str!("../../../examples/replies/not-interested.eml"),
    ),
    (
        "out-of-office",
        include_str!("../../../examples/replies/out-of-office.eml"),
    ),
    ("unsubscribe", include_str!("../../../examples/replies/unsubscribe.eml")),
    ("referral", include_str!("../../../examples/replies/referral.eml")),
    ("bounce-hard", include_str!("../../../examples/replies/bounce-hard.eml")),
];

/// The demo's first cycle: a Tuesday, 10:00 UTC (business hours in Europe,
/// the Gulf and India; night in the Americas and East Asia).
const DEMO_START: (i32, u32, u32, u32) = (2026, 3, 3, 10);

/// `cam demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder to create.
    #[arg(long, default_value = "cam-demo")]
    pub dir: PathBuf,
    /// Replace the demo files of an earlier run in that folder.
    #[arg(long)]
    pub force: bool,
}

/// Rewrites an example reply so it answers `message_id`, sent to `lead_email`:
/// the example's own lead address and thread ids are replaced (for a bounce,
/// the failed recipient and the quoted Message-ID).
pub fn address_reply(raw: &str, lead_email: &str, message_id: &str) -> String {
    let (old_address, old_id) = match recognise(raw.as_bytes()) {
        Some(Recognised::Bounce {
            recipient,
            original_message_id,
            ..
        }) => (recipient, original_message_id),
        _ => match parse(raw.as_bytes()) {
            Some(p) => (Some(p.from), p.in_reply_to),
            None => (None, None),
        },
    };
    let mut out = raw.to_string();
    if let Some(old) = old_address.filter(|a| !a.is_empty()) {
        out = out.replace(&old, lead_email);
    }
    if let Some(old) = old_id {
        out = out.replace(&old, message_id);
    }
    out
}

/// Runs `cam demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    require_example_plugins()?;
    let dir = &args.dir;
    prepare_dir(dir, args.force)?;
    let started = Utc
        .with_ymd_and_hms(DEMO_START.0, DEMO_START.1, DEMO_START.2, DEMO_START.3, 0, 0)
        .single()
        .context("demo start time")?;

    println!("cam demo — in {}", dir.display());
    println!(
        "Everything below is dry-run: emails are written to {}/outbox, replies read from {}/inbox.",
        dir.display(),
        dir.display()
    );
    println!();

    write_plugins(&dir.join("plugins"))?;
    std::fs::write(dir.join("cam.toml"), crate::config::DEFAULT_CONFIG_TEXT).context("writing cam.toml")?;
    // The demo's folder is the whole setup: no CAM_* variable points it elsewhere.
    let mut config = crate::config::Config::load_ignoring_environment(&dir.join("cam.toml"))?;
    // The example lead source asks for 5 s (it waits on HTTP); allow it.
    config.limits.timeout = std::time::Duration::from_secs(5);
    config.alerts.email = Some("operator@demo.example".into());
    let tenant = config.tenant.clone();
    let app = App::open(config).await?;
    let store = app.store();
    store.ensure_tenant(&tenant, "Demo tenant").await?;
    // Loaded through the reloader, so every version is recorded in the store
    // as `cam run` would: `cam plugins history/shadow/rollback` work right away.
    let services = app.tenant().await?;
    if let Some(failure) = services.load_failures.first() {
        anyhow::bail!(
            "example plugin {} did not load: {}",
            failure.file.display(),
            failure.error
        );
    }
    let registry = &services.registry;
    let tenant = tenant.as_str();
    let campaign = create_campaign(store.as_ref(), registry, tenant).await?;
    let imported = import_leads(
        store.as_ref(),
        &ImportTarget {
            tenant: tenant.into(),
            campaign_id: campaign.id,
            source_name: "examples/leads.csv".into(),
            dry_run: false,
        },
        LEADS_CSV.as_bytes(),
        ImportOptions::default(),
        |_| {},
    )
    .await
    .context("importing the example leads")?;
    println!(
        "1. Set up: tenant {tenant:?}, campaign {:?} (daily cap {}, 2 mailboxes, send window 09:00–17:00 Mon–Fri in each lead's time zone).",
        campaign.config.name, campaign.config.daily_cap
    );
    let plugins: Vec<String> = registry
        .list()
        .iter()
        .map(|p| format!("{} ({})", p.name(), p.kind().as_str()))
        .collect();
    println!("   Plugins: {}.", plugins.join(", "));
    println!(
        "   Imported {} leads from examples/leads.csv ({} rows).",
        imported.imported, imported.rows
    );
    store
        .set_campaign_status(
            tenant,
            campaign.id,
            CampaignStatus::Running,
            "started by cam demo",
            "demo",
        )
        .await?;

    let cycle = async |at: DateTime<Utc>| -> anyhow::Result<CycleReport> {
        let clock = FixedClock(at);
        let campaign = store.get_campaign(tenant, campaign.id).await?;
        app.cycle(&services, &clock, campaign).run().await
    };

    println!();
    println!(
        "2. First cycle, {}: leads are enriched, scored and the best ones written to, within caps and windows.",
        started.format("%a %Y-%m-%d %H:%M UTC")
    );
    let report = cycle(started).await?;
    print_report(&report);

    let targets = deliver_replies(store.as_ref(), tenant, campaign.id, &dir.join("inbox")).await?;
    println!();
    println!("3. Six replies arrive in the inbox (Maildir):");
    for (name, email) in &targets {
        println!("   {name:<15} from {email}");
    }

    let second = started + TimeDelta::hours(2);
    println!();
    println!(
        "4. Second cycle, {}: replies are matched, classified and acted on.",
        second.format("%a %H:%M")
    );
    let report = cycle(second).await?;
    print_report(&report);

    let third = started + TimeDelta::days(3);
    let status = store.get_campaign(tenant, campaign.id).await?;
    println!();
    if status.status != CampaignStatus::Running {
        println!(
            "5. The campaign is {}: \"{}\" ({}).",
            status.status.as_str(),
            status.status_reason,
            status.status_actor
        );
        println!("   An operator checks the list and resumes it (what `cam campaigns resume` does).");
        store
            .set_campaign_status(
                tenant,
                campaign.id,
                CampaignStatus::Running,
                "resumed after checking the list",
                "demo operator",
            )
            .await?;
    } else {
        println!("5. The campaign is still RUNNING.");
    }
    println!();
    println!(
        "6. Third cycle, {}: step 2 follow-ups are due (3 days, no reply), threaded under step 1.",
        third.format("%a %Y-%m-%d %H:%M")
    );
    let report = cycle(third).await?;
    print_report(&report);

    let follow_up = store
        .emails_in_state(tenant, Some(campaign.id), EmailState::Sent, u32::MAX)
        .await?
        .into_iter()
        .find(|e| e.email.step == 1);
    println!();
    println!("Done. Look around:");
    println!(
        "   {}/outbox/        {} .eml files (outreach and the alert)",
        dir.display(),
        count_files(&dir.join("outbox"))
    );
    if let Some(email) = follow_up {
        let file = crate::mail::outbox::OutboxSender::new(dir.join("outbox")).path_for(&email.email.message_id);
        println!(
            "   a follow-up:      {} (In-Reply-To, References, List-Unsubscribe)",
            file.display()
        );
    }
    println!(
        "   cd {} && cam campaigns list        # the campaign and its status",
        dir.display()
    );
    println!(
        "   cd {} && cam cycle --campaign {} --now {}",
        dir.display(),
        campaign.config.name,
        (third + TimeDelta::days(5)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    Ok(ExitCode::SUCCESS)
}

/// The example plugins the demo's story needs, by file stem.
const DEMO_PLUGINS: &[&str] = &["basic_enrich", "weighted_score", "heuristic_replies", "guardrails"];

/// Refuses a binary built without the example plugins: its demo would run a
/// campaign in which nothing is enriched, scored, classified or decided.
fn require_example_plugins() -> anyhow::Result<()> {
    let missing: Vec<&str> = DEMO_PLUGINS
        .iter()
        .copied()
        .filter(|stem| !BUILTIN_PLUGINS.iter().any(|(built, ..)| built == stem))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "this cam was built without the example plugins the demo runs ({}); build it from the \
             repository with the wasm32-wasip2 target installed (`rustup target add wasm32-wasip2`, \
             then `cargo run -- demo`)",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Creates `dir`, refusing an existing one unless `force` (then only the
/// demo's own files are removed).
fn prepare_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() {
        if !force {
            anyhow::bail!(
                "{} already exists; pass --force to replace the demo files in it, or --dir to pick another folder",
                dir.display()
            );
        }
        for name in ["cam.db", "cam.db-wal", "cam.db-shm", "cam.toml"] {
            let path = dir.join(name);
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
        for name in ["outbox", "inbox", "plugins"] {
            let path = dir.join(name);
            if path.exists() {
                std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Writes the built-in plugins but the HTTP lead source. The guardrails rule judges bounces from 20
/// sent emails on (instead of 50), so its check applies to a demo this size.
fn write_plugins(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (stem, _, wasm, manifest) in BUILTIN_PLUGINS {
        if *stem == "http_json" {
            continue; // the demo's leads come from the CSV import, not an HTTP API
        }
        let manifest = if *stem == "guardrails" {
            manifest.replace("min_sent_for_bounce = 50", "min_sent_for_bounce = 20")
        } else {
            manifest.to_string()
        };
        std::fs::write(dir.join(format!("{stem}.wasm")), wasm).with_context(|| format!("writing plugin {stem}"))?;
        std::fs::write(dir.join(format!("{stem}.toml")), manifest)
            .with_context(|| format!("writing manifest {stem}"))?;
    }
    Ok(())
}

/// The example campaign bound to whatever built-in plugins loaded, by kind.
async fn create_campaign(store: &dyn Store, registry: &PluginRegistry, tenant: &str) -> anyhow::Result<Campaign> {
    let mut def = CampaignDef::from_toml(CAMPAIGN_TOML).context("the example campaign")?;
    let of_kind = |kind: PluginKind| -> Vec<String> {
        registry
            .list()
            .iter()
            .filter(|p| p.kind() == kind)
            .map(|p| p.name().to_string())
            .collect()
    };
    def.plugins.lead_sources = Vec::new(); // the leads come from the CSV import
    def.plugins.enrichers = of_kind(PluginKind::Enricher);
    def.plugins.scorer = of_kind(PluginKind::Scorer).into_iter().next();
    def.plugins.reply_classifier = of_kind(PluginKind::ReplyClassifier).into_iter().next();
    def.plugins.decision_rules = of_kind(PluginKind::DecisionRule);
    let new = def.to_new_campaign().context("the example campaign")?;
    Ok(store.create_campaign(tenant, &new).await?)
}

/// Drops each example reply into the inbox, addressed from a lead that got
/// the first email; returns (reply, lead email).
async fn deliver_replies(
    store: &dyn Store,
    tenant: &str,
    campaign_id: i64,
    inbox: &Path,
) -> anyhow::Result<Vec<(String, String)>> {
    let sent = store
        .emails_in_state(tenant, Some(campaign_id), EmailState::Sent, u32::MAX)
        .await?;
    let maildir = MaildirInbox::new(inbox);
    let mut out = Vec::new();
    for (i, ((name, raw), email)) in EXAMPLE_REPLIES
        .iter()
        .zip(sent.iter().step_by((sent.len() / EXAMPLE_REPLIES.len()).max(1)))
        .enumerate()
    {
        let reply = address_reply(raw, &email.email.to_address, &email.email.message_id);
        maildir
            .deliver(&format!("17725320{i:02}.demo{i}.cam-demo"), reply.as_bytes())
            .context("delivering a reply")?;
        out.push((name.to_string(), email.email.to_address.clone()));
    }
    Ok(out)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.flatten().count()).unwrap_or(0)
}

/// One line per step, then what changed.
fn print_report(report: &CycleReport) {
    for step in &report.steps {
        let counts: Vec<String> = step
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let text = match step.status {
            StepStatus::Skipped => format!("skipped: {}", step.notes.first().cloned().unwrap_or_default()),
            StepStatus::Failed => format!(
                "FAILED: {}",
                step.failures.first().map(|f| f.reason.clone()).unwrap_or_default()
            ),
            StepStatus::Ok if counts.is_empty() => "nothing to do".into(),
            StepStatus::Ok => counts.join(", "),
        };
        let failures = if step.status == StepStatus::Ok && step.failed_total > 0 {
            format!(
                " ({} failed: {})",
                step.failed_total,
                step.failures.first().map(|f| f.reason.as_str()).unwrap_or("")
            )
        } else {
            String::new()
        };
        println!("   {:<10} {text}{failures}", step.step);
    }
    if !report.transition_counts.is_empty() {
        let parts: Vec<String> = report
            .transition_counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("   lead states: {}", parts.join(", "));
    }
    for change in report
        .state_changes
        .iter()
        .filter(|c| !matches!(c.to.as_str(), "ENRICHED" | "CONTACTED"))
    {
        println!("     {} {}→{}: {}", change.email, change.from, change.to, change.reason);
    }
    for step in &report.steps {
        for note in step
            .notes
            .iter()
            .filter(|n| n.contains("referred") || n.contains("out of office"))
        {
            println!("     {note}");
        }
    }
    for alert in &report.alerts {
        println!("   ALERT → operator: {alert}");
    }
    for decision in &report.decisions {
        println!("   DECISION: {decision}");
    }
}
