//! `cam plugins history | rollback | shadow | diff | promote | upload | release`:
//! the version commands. They change the store (and the version folder); a
//! running worker follows within its sync interval (at once on PostgreSQL,
//! through `LISTEN/NOTIFY`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Config;
use crate::plugins::LoadedPlugin;
use crate::plugins::fleet;
use crate::plugins::manifest::Manifest;
use crate::plugins::reloader::{SYNC_INTERVAL, new_version};
use crate::plugins::shadow::{DiffReport, ShadowLog};
use crate::plugins::versions::{VersionFolder, find_version, previous_version};
use crate::runtime::Runtime;
use crate::store::Store;

async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = crate::store::open(config.database_url()).await?;
    store.ensure_tenant(&config.tenant, &config.tenant).await?;
    Ok(store)
}

/// The tenant's active version (sha256) of each plugin, when a database
/// exists; empty otherwise (listing never creates a database).
pub async fn active_by_name(config: &Config) -> BTreeMap<String, String> {
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or_default();
        if !Path::new(path).exists() {
            return BTreeMap::new();
        }
    }
    let Ok(store) = crate::store::open(url).await else {
        return BTreeMap::new();
    };
    match store.active_plugin_versions(&config.tenant).await {
        Ok(active) => active.into_iter().map(|v| (v.plugin.name, v.plugin.sha256)).collect(),
        Err(_) => BTreeMap::new(),
    }
}

fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}

/// `cam plugins history NAME`.
pub async fn history(config: &Config, name: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let history = store.plugin_history(&config.tenant, name).await?;
    let shadow = VersionFolder::in_plugins_dir(&config.plugins_dir)
        .shadows()
        .remove(name);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(ExitCode::SUCCESS);
    }
    if history.is_empty() {
        println!("No versions of `{name}` recorded for tenant {}", config.tenant);
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{:<20} {:<13} {:<10} {:<8} SOURCE",
        "RECORDED (UTC)", "SHA256", "VERSION", "STATE"
    );
    for v in &history {
        let state = if v.active {
            "active"
        } else if shadow.as_deref() == Some(v.plugin.sha256.as_str()) {
            "shadow"
        } else {
            ""
        };
        println!(
            "{:<20} {:<13} {:<10} {:<8} {}",
            v.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            short(&v.plugin.sha256),
            v.plugin.version,
            state,
            v.plugin.source
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the bytes of `sha256` can be loaded by a worker.
async fn bytes_available(config: &Config, store: &dyn Store, sha256: &str) -> anyhow::Result<bool> {
    if VersionFolder::in_plugins_dir(&config.plugins_dir)
        .wasm_path(sha256)
        .exists()
    {
        return Ok(true);
    }
    Ok(store.plugin_blob(&config.tenant, sha256).await?.is_some())
}

/// `cam plugins rollback NAME [--to SHA_PREFIX]`.
pub async fn rollback(config: &Config, name: &str, to: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let history = store.plugin_history(&config.tenant, name).await?;
    if history.is_empty() {
        anyhow::bail!(
            "no versions of `{name}` are recorded for tenant {}; see `cam plugins list`",
            config.tenant
        );
    }
    let target = match to {
        Some(prefix) => find_version(&history, prefix).map_err(|e| anyhow::anyhow!("{name}: {e}"))?,
        None => previous_version(&history)
            .with_context(|| format!("`{name}` has no version older than the active one; name one with --to"))?,
    };
    if target.active {
        println!("{name} already serves {}", short(&target.plugin.sha256));
        return Ok(ExitCode::SUCCESS);
    }
    if !bytes_available(config, store.as_ref(), &target.plugin.sha256).await? {
        anyhow::bail!(
            "the bytes of {name} {} are not kept (neither in {} nor in the database); cannot roll back to it",
            short(&target.plugin.sha256),
            VersionFolder::in_plugins_dir(&config.plugins_dir).dir().display()
        );
    }
    let previous = history
        .iter()
        .find(|v| v.active)
        .map(|v| short(&v.plugin.sha256).to_string());
    store
        .activate_plugin_version(&config.tenant, name, &target.plugin.sha256)
        .await?;
    store.announce_plugin_change(&config.tenant, name).await?;
    println!(
        "{name} now serves {} (was {}); running workers switch within {} s",
        short(&target.plugin.sha256),
        previous.as_deref().unwrap_or("none"),
        SYNC_INTERVAL.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cam plugins shadow FILE`.
pub async fn shadow(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new(config.limits)?;
    let plugin = match LoadedPlugin::load_file(&runtime, file, runtime.scope(&config.tenant, None)).await {
        Ok(plugin) => plugin,
        Err(error) => {
            eprintln!("FAILED  {}", file.display());
            eprintln!("    {}: {}", error.kind, error.message);
            return Ok(ExitCode::FAILURE);
        }
    };
    let store = open_store(config).await?;
    let name = plugin.name().to_string();
    let history = store.plugin_history(&config.tenant, &name).await?;
    let Some(active) = history.iter().find(|v| v.active) else {
        anyhow::bail!(
            "`{name}` has no active version to shadow; install it in {} first",
            config.plugins_dir.display()
        );
    };
    if active.plugin.sha256 == plugin.sha256() {
        anyhow::bail!("{} is the active version of `{name}` already", file.display());
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let manifest_path = Manifest::path_for(file);
    let manifest_text =
        std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let versions = VersionFolder::in_plugins_dir(&config.plugins_dir);
    versions.save(plugin.sha256(), &bytes, &manifest_text)?;
    store
        .save_plugin_blob(&config.tenant, plugin.sha256(), &bytes, &manifest_text)
        .await?;
    store
        .record_plugin_version(
            &config.tenant,
            &new_version(&plugin, &format!("shadow:{}", file.display())),
        )
        .await?;
    versions.set_shadow(&name, Some(plugin.sha256()))?;
    // A new candidate starts a new comparison.
    ShadowLog::for_plugin(&config.plugins_dir, &name).clear()?;
    store.announce_plugin_change(&config.tenant, &name).await?;
    println!(
        "{} runs in shadow beside {name} {}; see `cam plugins diff {name}`, then `cam plugins promote {name}`",
        plugin.version(),
        short(&active.plugin.sha256)
    );
    Ok(ExitCode::SUCCESS)
}

/// `cam plugins diff NAME`.
pub fn diff(config: &Config, name: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let candidate = VersionFolder::in_plugins_dir(&config.plugins_dir)
        .shadows()
        .remove(name);
    let records = ShadowLog::for_plugin(&config.plugins_dir, name).read()?;
    let report = DiffReport::from_records(name, records, candidate.as_deref().map(short));
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "candidate": candidate,
                "agreement_rate": report.agreement_rate(),
                "report": report,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    match &candidate {
        Some(sha) => println!("{name}: shadow candidate {}", short(sha)),
        None => println!("{name}: no shadow candidate installed (showing past records)"),
    }
    if report.total == 0 {
        println!("No inputs compared yet: the candidate sees inputs when the next cycle runs.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Agreement: {:.1}% ({} of {} inputs); {} differ",
        report.agreement_rate() * 100.0,
        report.agreed,
        report.total,
        report.disagreements.len()
    );
    for d in &report.disagreements {
        println!("- {}", d.input);
        println!("    active    {}: {}", d.active_version, d.active_output);
        println!("    candidate {}: {}", d.candidate_version, d.candidate_output);
    }
    Ok(ExitCode::SUCCESS)
}

/// `cam plugins promote NAME`.
pub async fn promote(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let versions = VersionFolder::in_plugins_dir(&config.plugins_dir);
    let Some(candidate) = versions.shadows().remove(name) else {
        anyhow::bail!("`{name}` has no shadow candidate; install one with `cam plugins shadow FILE`");
    };
    let store = open_store(config).await?;
    store.activate_plugin_version(&config.tenant, name, &candidate).await?;
    versions.set_shadow(name, None)?;
    ShadowLog::for_plugin(&config.plugins_dir, name).clear()?;
    store.announce_plugin_change(&config.tenant, name).await?;
    println!(
        "{name} now serves {}; running workers switch within {} s (undo: `cam plugins rollback {name}`)",
        short(&candidate),
        SYNC_INTERVAL.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cam plugins upload FILE`.
pub async fn upload(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new(config.limits)?;
    let store = open_store(config).await?;
    let record = fleet::upload(store.as_ref(), &runtime, &config.tenant, file).await?;
    println!(
        "Uploaded {} {} and made it active; workers on this database load it now",
        record.plugin.name,
        short(&record.plugin.sha256)
    );
    Ok(ExitCode::SUCCESS)
}

/// `cam plugins release NAME`.
pub fn release(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    VersionFolder::in_plugins_dir(&config.plugins_dir).request_release(name)?;
    println!(
        "Asked running workers to release {name} from quarantine (within {} s)",
        SYNC_INTERVAL.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}
