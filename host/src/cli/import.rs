//! `cam import FILE.csv --campaign NAME`: leads from a CSV file, with a
//! progress bar and a report of every row that was not imported.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::import::{ImportOptions, ImportSummary, ImportTarget, import_leads, parse_mapping_entry};

/// Rejected rows printed in the text report; `--json` lists up to
/// [`crate::import::MAX_LISTED_REJECTIONS`] (every count stays complete).
const MAX_PRINTED_REJECTIONS: usize = 50;

/// `cam import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, with a header row naming the columns).
    pub file: PathBuf,
    /// The campaign the leads join.
    #[arg(long)]
    pub campaign: String,
    /// Read a column as a lead field or attribute: `--map "E-Mail Adresse=email"`,
    /// `--map Notes=-` to skip a column (repeatable).
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub mappings: Vec<String>,
    /// The field separator (`;` for many European spreadsheet exports).
    #[arg(long, default_value = ",")]
    pub delimiter: char,
    /// Read and check everything, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON (with the first 10,000 rejected rows; the
    /// counts cover all of them).
    #[arg(long)]
    pub json: bool,
}

/// Runs `cam import`.
pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut mapping = HashMap::new();
    for entry in &args.mappings {
        let (column, field) = parse_mapping_entry(entry).map_err(|e| anyhow::anyhow!("--map {entry:?}: {e}"))?;
        mapping.insert(column, field);
    }
    let delimiter = u8::try_from(args.delimiter)
        .ok()
        .filter(u8::is_ascii)
        .with_context(|| format!("--delimiter {:?} must be a single ASCII character", args.delimiter))?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open the lead file {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);

    let app = crate::app::App::open(config.clone()).await?;
    let store = app.store().clone();
    let campaign = super::campaigns::find(store.as_ref(), &config.tenant, &args.campaign).await?;
    let target = ImportTarget {
        tenant: config.tenant.clone(),
        campaign_id: campaign.id,
        source_name: args
            .file
            .file_name()
            .map_or_else(|| args.file.display().to_string(), |n| n.to_string_lossy().into_owned()),
        dry_run: args.dry_run,
    };
    let options = ImportOptions {
        mapping,
        delimiter,
        ..ImportOptions::default()
    };

    // indicatif hides the bar by itself when stderr is not a terminal.
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = bar.clone();
    let result = import_leads(store.as_ref(), &target, file, options, move |bytes| {
        progress.set_position(bytes)
    })
    .await;
    bar.finish_and_clear();
    let summary = result.with_context(|| format!("importing {}", args.file.display()))?;

    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("file".into(), args.file.display().to_string().into());
            object.insert("campaign".into(), campaign.config.name.clone().into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(&summary, &args, &campaign.config.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(summary: &ImportSummary, args: &ImportArgs, campaign: &str) {
    let file = args.file.display();
    if summary.dry_run {
        println!("Dry run: nothing was written.");
        println!(
            "Would import {} of {} rows from {file} into campaign {campaign}.",
            summary.imported, summary.rows
        );
    } else {
        println!(
            "Imported {} of {} rows from {file} into campaign {campaign}.",
            summary.imported, summary.rows
        );
    }
    for warning in &summary.warnings {
        println!("warning: {warning}");
    }
    println!("  rows read    {:>8}", summary.rows);
    println!("  imported     {:>8}", summary.imported);
    println!("  rejected     {:>8}", summary.rejected_total());
    for (kind, n) in &summary.rejected {
        println!("    {:<22} {n:>6}", kind.replace('_', " "));
    }
    println!(
        "  duplicates   {:>8}  ({} in the file, {} already in the database)",
        summary.duplicates_in_file + summary.duplicates_in_database,
        summary.duplicates_in_file,
        summary.duplicates_in_database
    );
    println!("  suppressed   {:>8}", summary.suppressed);
    if summary.rejected_rows.is_empty() {
        return;
    }
    println!();
    println!("Rejected rows:");
    for row in summary.rejected_rows.iter().take(MAX_PRINTED_REJECTIONS) {
        println!("  line {}: {}", row.line, row.reason);
    }
    let more = summary
        .rejected_total()
        .saturating_sub(MAX_PRINTED_REJECTIONS.min(summary.rejected_rows.len()) as u64);
    if more > 0 && summary.rejected_rows_not_listed > 0 {
        println!(
            "  … and {more} more; use --json for the first {}",
            crate::import::MAX_LISTED_REJECTIONS
        );
    } else if more > 0 {
        println!("  … and {more} more; use --json for all");
    }
}
