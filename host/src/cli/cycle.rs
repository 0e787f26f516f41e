//! `cam cycle --campaign NAME`: run one cycle of one campaign and print what
//! it did.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::app::{App, TenantApp};
use crate::config::Config;
use crate::pipeline::{Clock, FixedClock, SystemClock};

/// `cam cycle` arguments.
#[derive(Debug, Args)]
pub struct CycleArgs {
    /// The campaign's name.
    #[arg(long)]
    pub campaign: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run the cycle as if it were this instant (RFC 3339), to replay or
    /// test time-dependent behaviour (follow-up delays, send windows).
    #[arg(long, env = "CAM_NOW", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Run it on a copy with dry-run mail, whatever the campaign's `live`
    /// flag and status say, and print the messages it would send: nothing
    /// of the campaign changes.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses an RFC 3339 instant such as `2026-03-03T10:00:00Z`.
pub fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-03-03T10:00:00Z: {e}"))
}

/// Prints on stderr the plugins that did not load (the others serve).
pub fn warn_load_failures(tenant: &TenantApp) {
    for failure in &tenant.load_failures {
        eprintln!("warning: {} did not load: {}", failure.file.display(), failure.error);
    }
}

/// Runs `cam cycle`.
pub async fn run(config: &Config, args: CycleArgs) -> anyhow::Result<ExitCode> {
    let app = App::open(config.clone()).await?;
    if !config.plugins_dir.exists() {
        eprintln!(
            "note: no plugins folder at {}; campaigns' plugin steps will fail",
            config.plugins_dir.display()
        );
    }
    let tenant = app.tenant_app(&config.tenant, false).await?;
    warn_load_failures(&tenant);
    let campaign = app
        .store()
        .campaign_by_name(&config.tenant, &args.campaign)
        .await
        .with_context(|| {
            format!(
                "no campaign {:?} for tenant {:?}; see `cam campaigns list`",
                args.campaign, config.tenant
            )
        })?;
    let clock: Box<dyn Clock> = match args.now {
        Some(now) => Box::new(FixedClock(now)),
        None => Box::new(SystemClock),
    };
    if args.dry_run {
        let done = crate::dry_run::dry_run(app.store(), &tenant, clock.as_ref(), &campaign).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&done)?);
        } else {
            print!("{}", done.report.to_table());
            println!("dry run on a copy: nothing of {:?} changed", campaign.config.name);
            for message in &done.messages {
                println!(
                    "\n--- to {} ---\nFrom: {}\nSubject: {}\n\n{}",
                    message.to, message.from, message.subject, message.text
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = app.cycle(&tenant, clock.as_ref(), campaign).run().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(ExitCode::SUCCESS)
}
