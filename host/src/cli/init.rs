//! `cam init`: a working setup in one folder — config, database, the example
//! plugins, and the dry-run mail folders.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::config::{Config, DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_TEXT, redact_url};
use crate::domain::model::DEFAULT_TENANT;

// (file stem, kind folder, wasm bytes, manifest text) of each example plugin.
include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The database file the default config names, beside the config.
const DEFAULT_DATABASE_FILE: &str = "cam.db";

/// `cam init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to set up (default: the folder of `--config`, which is
    /// the current directory unless `--config` says otherwise).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Creates `cam.toml`, the database, `plugins/` with the example plugins,
/// `outbox/` and `inbox/`; refuses when a config or database is already there.
pub async fn run(config: &Config, args: InitArgs) -> anyhow::Result<ExitCode> {
    let config_path = match &args.dir {
        Some(dir) => dir.join(DEFAULT_CONFIG_FILE),
        None => config.path.clone(),
    };
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    // Messages name the folder as the user would find it, not as `.`.
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let database = dir.join(DEFAULT_DATABASE_FILE);
    for existing in [&config_path, &database] {
        if existing.exists() {
            anyhow::bail!(
                "{} already exists: {} is already set up, and `cam init` never overwrites a setup \
                 (use `cam migrate` to update its database, or choose another folder with --dir)",
                existing.display(),
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_new(&config_path, DEFAULT_CONFIG_TEXT.as_bytes())?;

    let app = crate::app::App::open(Config::load(&config_path)?).await?;
    let (config, store) = (app.config(), app.store());
    let tenant_name = if config.tenant == DEFAULT_TENANT {
        "Default"
    } else {
        config.tenant.as_str()
    };
    store
        .ensure_tenant(&config.tenant, tenant_name)
        .await
        .with_context(|| format!("creating tenant {}", config.tenant))?;

    std::fs::create_dir_all(&config.plugins_dir)
        .with_context(|| format!("cannot create {}", config.plugins_dir.display()))?;
    let mut installed = Vec::new();
    for (stem, _kind, wasm, manifest) in BUILTIN_PLUGINS {
        let wasm_path = config.plugins_dir.join(format!("{stem}.wasm"));
        let manifest_path = config.plugins_dir.join(format!("{stem}.toml"));
        // A plugins folder may already hold the operator's own plugins:
        // add the examples beside them, never over them.
        if wasm_path.exists() || manifest_path.exists() {
            continue;
        }
        write_new(&wasm_path, wasm)?;
        write_new(&manifest_path, manifest.as_bytes())?;
        installed.push(*stem);
    }
    std::fs::create_dir_all(&config.outbox_dir)
        .with_context(|| format!("cannot create {}", config.outbox_dir.display()))?;
    crate::mail::maildir::MaildirInbox::new(&config.inbox_dir)
        .create()
        .with_context(|| format!("cannot create the Maildir {}", config.inbox_dir.display()))?;

    println!("Set up cam in {}", dir.display());
    println!(
        "  {:<14} configuration (edit it, or override with CAM_* variables)",
        file_name(&config_path)
    );
    println!("  {:<14} {} (migrated)", "database", redact_url(config.database_url()));
    println!(
        "  {:<14} {} example plugins: {}",
        "plugins/",
        installed.len(),
        installed.join(", ")
    );
    println!("  {:<14} dry-run outgoing mail (.eml files)", "outbox/");
    println!(
        "  {:<14} dry-run replies: a Maildir; save a reply as a file in inbox/new/",
        "inbox/"
    );
    println!();
    println!("Next:");
    println!("  cam campaigns create my-campaign        (or --file campaign.toml)");
    println!("  cam import leads.csv --campaign my-campaign");
    Ok(ExitCode::SUCCESS)
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
