//! `cam campaigns ...`: create a campaign from a TOML file or from flags,
//! list, show, pause and resume.
//!
//! A campaign file (`examples/campaign.toml`) is the user-facing format;
//! flags start from [`CampaignDef::with_defaults`] (or the file) and
//! override single values. Either way the definition is validated and
//! converted with [`CampaignDef::to_new_campaign`] before it is stored.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::config::Config;
use crate::domain::campaign_def::{CampaignDef, MailboxDef};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{AfterLastStep, Campaign, CampaignStatus, DEFAULT_TENANT};
use crate::store::{Store, StoreError};

/// `cam campaigns` subcommands.
#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// Create a campaign from a TOML file (`--file`) or from flags with
    /// sensible defaults. It starts paused unless `--start` is given.
    Create(CreateArgs),
    /// One line per campaign: status, why, cap, leads by state, mode.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one campaign, steps and plugins included.
    Show {
        /// The campaign's name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print the campaign as a TOML file (to edit and create anew).
        #[arg(long, conflicts_with = "json")]
        toml: bool,
    },
    /// Stop sending for a campaign, recording who and why.
    Pause {
        /// The campaign's name.
        name: String,
        /// Why, for whoever looks next.
        #[arg(long)]
        reason: String,
    },
    /// Let a paused campaign run again.
    Resume {
        /// The campaign's name.
        name: String,
        /// Why (default: "resumed by an operator").
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `cam campaigns create` arguments. Flags override the file's values.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The campaign's name (required without `--file`).
    pub name: Option<String>,
    /// A campaign file (see examples/campaign.toml).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Most emails per rolling 24 hours for the whole campaign.
    #[arg(long)]
    pub daily_cap: Option<u32>,
    /// Qualified leads after which the campaign is done.
    #[arg(long)]
    pub goal: Option<u32>,
    /// Send over SMTP (default: dry-run into the outbox folder).
    #[arg(long)]
    pub live: bool,
    /// Leads scoring below this (0.0..=1.0) are not contacted.
    #[arg(long)]
    pub score_threshold: Option<f64>,
    /// A sending mailbox, `ADDRESS` or `ADDRESS:DAILY_CAP` (repeatable).
    #[arg(long = "mailbox", value_name = "ADDRESS[:CAP]")]
    pub mailboxes: Vec<String>,
    /// IANA zone for leads without a usable one (e.g. Europe/Berlin).
    #[arg(long)]
    pub fallback_tz: Option<String>,
    /// Where a lead goes after the last step: nurture or dead.
    #[arg(long, value_parser = parse_after_last_step)]
    pub after_last_step: Option<AfterLastStep>,
    /// Start it right away instead of creating it paused.
    #[arg(long)]
    pub start: bool,
}

/// Runs a `cam campaigns` subcommand.
pub async fn run(config: &Config, command: CampaignsCommand) -> anyhow::Result<ExitCode> {
    let app = crate::app::App::open(config.clone()).await?;
    let store = app.store().as_ref();
    let tenant = config.tenant.as_str();
    match command {
        CampaignsCommand::Create(args) => create(store, tenant, &config.plugins_dir, args).await,
        CampaignsCommand::List { json } => list(store, tenant, json).await,
        CampaignsCommand::Show { name, json, toml } => show(store, tenant, &name, json, toml).await,
        CampaignsCommand::Pause { name, reason } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must say why the campaign is paused");
            }
            let campaign = set_status(store, tenant, &name, CampaignStatus::Paused, reason.trim()).await?;
            println!("Paused campaign {} ({}).", campaign.config.name, status_line(&campaign));
            Ok(ExitCode::SUCCESS)
        }
        CampaignsCommand::Resume { name, reason } => {
            let reason = reason.unwrap_or_else(|| "resumed by an operator".to_owned());
            let campaign = set_status(store, tenant, &name, CampaignStatus::Running, reason.trim()).await?;
            println!(
                "Resumed campaign {} ({}).",
                campaign.config.name,
                status_line(&campaign)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Who is acting: `operator:$USER`, or `cli` when the user is unknown.
pub fn actor() -> String {
    match std::env::var("USER").ok().filter(|u| !u.trim().is_empty()) {
        Some(user) => format!("operator:{}", user.trim()),
        None => "cli".to_owned(),
    }
}

fn parse_after_last_step(s: &str) -> Result<AfterLastStep, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "nurture" => Ok(AfterLastStep::Nurture),
        "dead" => Ok(AfterLastStep::Dead),
        other => Err(format!("{other:?} is not nurture or dead")),
    }
}

/// The definition the arguments describe, validated by the caller.
fn definition(args: &CreateArgs) -> anyhow::Result<CampaignDef> {
    let mut def = match (&args.file, &args.name) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the campaign file {}", file.display()))?;
            let mut def: CampaignDef =
                toml::from_str(&text).with_context(|| format!("{} is not a valid campaign file", file.display()))?;
            if let Some(name) = &args.name {
                def.name = name.clone();
            }
            def
        }
        (None, Some(name)) => CampaignDef::with_defaults(name),
        (None, None) => anyhow::bail!("give the campaign a name (cam campaigns create NAME) or a file (--file)"),
    };
    if let Some(cap) = args.daily_cap {
        def.daily_cap = cap;
    }
    if let Some(goal) = args.goal {
        def.goal_qualified = goal;
    }
    if args.live {
        def.live = true;
    }
    if let Some(threshold) = args.score_threshold {
        def.score_threshold = threshold;
    }
    if let Some(tz) = &args.fallback_tz {
        def.window.fallback_tz = tz.clone();
    }
    if let Some(after) = args.after_last_step {
        def.after_last_step = after;
    }
    if !args.mailboxes.is_empty() {
        def.mailboxes = args
            .mailboxes
            .iter()
            .map(|m| parse_mailbox(m, def.daily_cap))
            .collect::<anyhow::Result<_>>()?;
    }
    Ok(def)
}

/// The sender of a campaign created from flags without `--mailbox`.
const DEFAULT_SENDER: &str = "outreach@example.com";

fn parse_mailbox(arg: &str, default_cap: u32) -> anyhow::Result<MailboxDef> {
    match arg.rsplit_once(':') {
        Some((address, cap)) => Ok(MailboxDef {
            address: address.trim().to_owned(),
            daily_cap: cap
                .trim()
                .parse()
                .with_context(|| format!("--mailbox {arg:?}: {cap:?} is not a daily cap (a whole number)"))?,
        }),
        None => Ok(MailboxDef {
            address: arg.trim().to_owned(),
            daily_cap: default_cap,
        }),
    }
}

/// Binds the plugins installed in `dir` to a campaign made from flags: every
/// enricher and decision rule, the first scorer and reply classifier (by file
/// name). Lead sources are left out: each needs its own settings, so bind one
/// in a campaign file. Only manifests are read; nothing is compiled.
fn bind_installed_plugins(def: &mut CampaignDef, dir: &std::path::Path) {
    use crate::plugins::{Manifest, PluginKind};
    let Ok(files) = crate::plugins::registry::wasm_files(dir) else {
        return;
    };
    for file in files {
        let Ok(manifest) = Manifest::load_for(&file) else {
            continue;
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = manifest.name.clone().unwrap_or(stem);
        match manifest.kind {
            PluginKind::Enricher => def.plugins.enrichers.push(name),
            PluginKind::Scorer if def.plugins.scorer.is_none() => def.plugins.scorer = Some(name),
            PluginKind::ReplyClassifier if def.plugins.reply_classifier.is_none() => {
                def.plugins.reply_classifier = Some(name)
            }
            PluginKind::DecisionRule => def.plugins.decision_rules.push(name),
            _ => {}
        }
    }
}

async fn create(
    store: &dyn Store,
    tenant: &str,
    plugins_dir: &std::path::Path,
    args: CreateArgs,
) -> anyhow::Result<ExitCode> {
    let mut def = definition(&args)?;
    if args.file.is_none() {
        bind_installed_plugins(&mut def, plugins_dir);
        if def.mailboxes.is_empty() {
            // Dry-run needs a sender too; a real one is set with --mailbox.
            def.mailboxes.push(MailboxDef {
                address: DEFAULT_SENDER.to_string(),
                daily_cap: def.daily_cap,
            });
            println!("Sending as {DEFAULT_SENDER} (dry-run); give real senders with --mailbox ADDRESS[:CAP].");
        }
    }
    let new = def.to_new_campaign()?;
    let name = if tenant == DEFAULT_TENANT { "Default" } else { tenant };
    store.ensure_tenant(tenant, name).await.context("creating the tenant")?;
    let mut campaign = match store.create_campaign(tenant, &new).await {
        Err(StoreError::Duplicate { .. }) => anyhow::bail!(
            "a campaign named {:?} already exists; pick another name or see it with `cam campaigns show {}`",
            new.name,
            new.name
        ),
        other => other.context("storing the campaign")?,
    };
    let actor = actor();
    campaign = if args.start {
        store
            .set_campaign_status(
                tenant,
                campaign.id,
                CampaignStatus::Running,
                "started when created",
                &actor,
            )
            .await?
    } else {
        store
            .set_campaign_status(
                tenant,
                campaign.id,
                CampaignStatus::Paused,
                "created; not started yet",
                &actor,
            )
            .await?
    };
    println!(
        "Created campaign {} ({} steps, daily cap {}, goal {} qualified, {}).",
        campaign.config.name,
        campaign.config.steps.len(),
        campaign.config.daily_cap,
        campaign.config.goal_qualified,
        mode(&campaign)
    );
    if campaign.status == CampaignStatus::Paused {
        println!(
            "It is paused; start it with: cam campaigns resume {}",
            quote_arg(&campaign.config.name)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_status(
    store: &dyn Store,
    tenant: &str,
    name: &str,
    status: CampaignStatus,
    reason: &str,
) -> anyhow::Result<Campaign> {
    let campaign = find(store, tenant, name).await?;
    Ok(store
        .set_campaign_status(tenant, campaign.id, status, reason, &actor())
        .await?)
}

/// The campaign named `name`, or an error that says what to do.
pub async fn find(store: &dyn Store, tenant: &str, name: &str) -> anyhow::Result<Campaign> {
    match store.campaign_by_name(tenant, name).await {
        Err(StoreError::NotFound { .. }) => anyhow::bail!(
            "there is no campaign named {name:?} (tenant {tenant}); see `cam campaigns list`, \
             or create it with `cam campaigns create {}`",
            quote_arg(name)
        ),
        other => Ok(other?),
    }
}

async fn lead_counts(store: &dyn Store, tenant: &str, campaign: &Campaign) -> anyhow::Result<Vec<(LeadState, u64)>> {
    Ok(store.count_leads_by_state(tenant, campaign.id).await?)
}

fn counts_text(counts: &[(LeadState, u64)]) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(state, n)| format!("{n} {}", state.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_json(counts: &[(LeadState, u64)]) -> serde_json::Value {
    counts
        .iter()
        .map(|(state, n)| (state.as_str().to_owned(), json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn mode(campaign: &Campaign) -> &'static str {
    if campaign.config.live { "live" } else { "dry-run" }
}

fn status_line(campaign: &Campaign) -> String {
    format!(
        "{} by {} at {}: {}",
        campaign.status.as_str(),
        campaign.status_actor,
        campaign.status_changed_at.format("%Y-%m-%d %H:%M UTC"),
        campaign.status_reason
    )
}

fn campaign_json(campaign: &Campaign, counts: &[(LeadState, u64)]) -> anyhow::Result<serde_json::Value> {
    let mut value = serde_json::to_value(campaign)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("leads".to_owned(), counts_json(counts));
        object.insert("mode".to_owned(), json!(mode(campaign)));
    }
    Ok(value)
}

async fn list(store: &dyn Store, tenant: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let campaigns = store.list_campaigns(tenant).await?;
    let mut rows = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let counts = lead_counts(store, tenant, &campaign).await?;
        rows.push((campaign, counts));
    }
    if as_json {
        let list = rows
            .iter()
            .map(|(c, counts)| campaign_json(c, counts))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No campaigns yet. Create one with: cam campaigns create NAME (or --file campaign.toml)");
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|(c, counts)| {
            [
                c.config.name.clone(),
                c.status.as_str().to_owned(),
                format!("{} ({})", c.status_reason, c.status_actor),
                c.config.daily_cap.to_string(),
                counts_text(counts),
                mode(c).to_owned(),
            ]
        })
        .collect();
    let headers = ["NAME", "STATUS", "REASON", "DAILY CAP", "LEADS", "MODE"];
    let mut widths = headers.map(str::len);
    for row in &table {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers);
    for row in &table {
        line(row.each_ref().map(String::as_str));
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &dyn Store, tenant: &str, name: &str, as_json: bool, as_toml: bool) -> anyhow::Result<ExitCode> {
    let campaign = find(store, tenant, name).await?;
    let counts = lead_counts(store, tenant, &campaign).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&campaign_json(&campaign, &counts)?)?);
        return Ok(ExitCode::SUCCESS);
    }
    if as_toml {
        print!("{}", CampaignDef::from_stored(&campaign.config).to_toml()?);
        return Ok(ExitCode::SUCCESS);
    }
    let c = &campaign.config;
    println!(
        "Campaign {} (id {}, tenant {})",
        c.name, campaign.id, campaign.tenant_id
    );
    println!("  status           {}", status_line(&campaign));
    if !c.goal.is_empty() {
        println!("  goal             {}", c.goal);
    }
    println!("  goal qualified   {}", c.goal_qualified);
    println!("  mode             {}", mode(&campaign));
    println!("  daily cap        {}", c.daily_cap);
    println!("  score threshold  {}", c.score_threshold);
    println!("  after last step  {}", c.after_last_step.as_str());
    println!("  leads            {}", counts_text(&counts));
    println!(
        "  created          {}",
        campaign.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    if c.mailboxes.is_empty() {
        println!("  mailboxes        none: the schedule step will refuse to send until one is added");
    }
    for mailbox in &c.mailboxes {
        println!(
            "  mailbox          {} (daily cap {})",
            mailbox.address, mailbox.daily_cap
        );
    }
    let w = &c.send_window;
    let days = if w.weekdays.is_empty() {
        "every day".to_owned()
    } else {
        w.weekdays.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    };
    println!(
        "  send window      {}-{} {}, recipient's time zone (fallback {})",
        w.start.format("%H:%M"),
        w.end.format("%H:%M"),
        days,
        w.fallback_time_zone
    );
    let p = &c.plugins;
    let names = |list: &[String]| {
        if list.is_empty() {
            "-".to_owned()
        } else {
            list.join(", ")
        }
    };
    println!("  plugins");
    println!("    lead sources      {}", names(&p.lead_sources));
    println!("    enrichers         {}", names(&p.enrichers));
    println!(
        "    scorer            {}",
        p.scorer.as_deref().unwrap_or("- (every lead scores 1.0)")
    );
    println!("    reply classifier  {}", p.reply_classifier.as_deref().unwrap_or("-"));
    println!("    decision rules    {}", names(&p.decision_rules));
    for (i, step) in c.steps.iter().enumerate() {
        let delay = if step.delay_hours % 24 == 0 {
            format!("{} days", step.delay_hours / 24)
        } else {
            format!("{} hours", step.delay_hours)
        };
        let after = if i == 0 {
            "after the lead is picked"
        } else {
            "after the previous step"
        };
        println!("  step {} ({delay} {after})", i + 1);
        println!("    subject  {}", step.subject);
        for (n, line) in step.body.trim_end().lines().enumerate() {
            println!("    {}  {line}", if n == 0 { "body   " } else { "       " });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `name` as a shell argument, quoted when it needs to be.
fn quote_arg(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}
