//! `cam plugins ...`: list the plugins folder, check one file, scaffold a new
//! plugin, and the version commands (history, rollback, shadow, diff,
//! promote, upload, release) in the `versions` submodule.

mod check;
mod sample;
mod versions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::plugins::cache::{CacheOutcome, CompileCache};
use crate::plugins::reloader::CACHE_DIR;
use crate::plugins::{LoadedPlugin, PluginKind};
use crate::runtime::bindings::types::Capability;
use crate::runtime::{PluginError, Runtime};

/// `cam plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Load every plugin in the plugins folder and show what serves and what failed.
    #[command(alias = "status")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load one component with its manifest, validate it against its world,
    /// call `describe`, then call the kind's main function on a built-in
    /// sample (or `--input FILE`) and report its output, time, memory
    /// high-water and every host capability it used. Fails (exit code 1) when
    /// the call fails or uses a capability the manifest does not grant,
    /// saying what to add. Compiled components are cached (the plugins
    /// folder's `.cache/`, else `~/.cache/cam/compile`), so a second check
    /// of the same file does not recompile.
    Check {
        /// The `.wasm` file; its manifest is the `.toml` beside it.
        file: PathBuf,
        /// A JSON file to call the main function with instead of the
        /// built-in sample (its shape per kind: see `--help`).
        #[arg(long, value_name = "FILE", long_help = sample::INPUT_HELP)]
        input: Option<PathBuf>,
        /// Print JSON instead of text (with the whole output of the call).
        #[arg(long)]
        json: bool,
    },
    /// Create a standalone plugin project (Rust, JavaScript or Python) whose
    /// one build command leaves the `.wasm` and its manifest side by side.
    New {
        /// lead-source, enricher, scorer, reply-classifier or decision-rule.
        kind: PluginKind,
        /// The plugin's name (lower-case letters, digits, `-`, `_`).
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum, default_value = "rust")]
        lang: super::scaffold::Lang,
        /// Where to create it (default: `./NAME`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rust only: the cam-plugin-sdk crate to depend on (default: the SDK
        /// of the source tree this binary was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Write the WIT package this binary speaks (`cam:plugin`), to build
    /// plugins against outside the cam repository.
    Wit {
        /// The folder to write `host.wit`, `types.wit` and `worlds.wit` into.
        #[arg(long, default_value = "wit")]
        out: PathBuf,
    },
    /// The recorded versions of a plugin: when, sha256, source, which is active.
    History {
        /// The plugin name.
        name: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make an earlier version active again (running workers follow).
    Rollback {
        /// The plugin name.
        name: String,
        /// The version to serve: a prefix of its sha256 (default: the one
        /// recorded before the active one).
        #[arg(long)]
        to: Option<String>,
    },
    /// Install a candidate beside the active version of the same name: it
    /// sees the same inputs, its outputs are recorded and never applied.
    /// The candidate's manifest must give the same `name` (or the file the same stem).
    Shadow {
        /// The candidate `.wasm`; its manifest is the `.toml` beside it.
        file: PathBuf,
    },
    /// How often the shadow candidate agreed with the active version, and each difference.
    Diff {
        /// The plugin name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make the shadow candidate the active version.
    Promote {
        /// The plugin name.
        name: String,
    },
    /// Store a plugin in the database and make it active on every worker
    /// (hosted mode: PostgreSQL, LISTEN/NOTIFY).
    Upload {
        /// The `.wasm`; its manifest is the `.toml` beside it.
        file: PathBuf,
    },
    /// Release a quarantined plugin on running workers.
    Release {
        /// The plugin name.
        name: String,
    },
}

/// Runs a `cam plugins` subcommand.
pub async fn run(config: &Config, command: PluginsCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginsCommand::List { json } => list(config, json).await,
        PluginsCommand::Check { file, input, json } => check::check(config, &file, input.as_deref(), json).await,
        PluginsCommand::New {
            kind,
            name,
            lang,
            dir,
            sdk,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = sdk.unwrap_or_else(|| PathBuf::from(env!("CAM_PLUGINS_SOURCE_DIR")).join("sdk"));
            let created = super::scaffold::create(kind, lang, &name, &dir, &sdk)?;
            println!("Created {kind} plugin `{name}` in {}", dir.display());
            println!("Build it:  cd {} && {}", dir.display(), created.build);
            println!("Check it:  cam plugins check {}", created.wasm.display());
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Wit { out } => {
            for path in super::scaffold::write_wit(&out)? {
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::History { name, json } => versions::history(config, &name, json).await,
        PluginsCommand::Rollback { name, to } => versions::rollback(config, &name, to.as_deref()).await,
        PluginsCommand::Shadow { file } => versions::shadow(config, &file).await,
        PluginsCommand::Diff { name, json } => versions::diff(config, &name, json),
        PluginsCommand::Promote { name } => versions::promote(config, &name).await,
        PluginsCommand::Upload { file } => versions::upload(config, &file).await,
        PluginsCommand::Release { name } => versions::release(config, &name),
    }
}

fn capability_names(needs: &[Capability]) -> Vec<&'static str> {
    needs.iter().map(|c| c.name()).collect()
}

fn granted(plugin: &LoadedPlugin) -> Vec<String> {
    let grants = &plugin.manifest().capabilities;
    Capability::ALL
        .into_iter()
        .filter_map(|capability| match capability {
            Capability::Kv => grants.kv.map(|kv| format!("kv ({} bytes)", kv.quota_bytes)),
            Capability::Http => grants.http.as_ref().map(|http| {
                let hosts: Vec<String> = http.allow.iter().map(ToString::to_string).collect();
                format!("http ({})", hosts.join(", "))
            }),
            Capability::Log | Capability::Config | Capability::Clock => {
                grants.grants(capability).then(|| capability.name().to_string())
            }
        })
        .collect()
}

fn plugin_json(plugin: &LoadedPlugin, file: &Path) -> serde_json::Value {
    let limits = plugin.identity().limits;
    json!({
        "ok": true,
        "file": file.display().to_string(),
        "name": plugin.name(),
        "kind": plugin.kind().as_str(),
        "version": plugin.version(),
        "sha256": plugin.sha256(),
        "describe": {
            "name": plugin.info().name,
            "version": plugin.info().version,
            "description": plugin.info().description,
            "needs": capability_names(&plugin.info().needs),
        },
        "granted": granted(plugin),
        "limits": {
            "timeout_ms": limits.timeout.as_millis() as u64,
            "memory_mib": limits.memory_bytes >> 20,
            "max_output_bytes": limits.max_output_bytes,
            "max_log_lines": limits.max_log_lines,
        },
        "notes": plugin.notes(),
        "health": plugin.health().snapshot(),
    })
}

fn error_json(error: &PluginError, file: &Path) -> serde_json::Value {
    json!({
        "ok": false,
        "file": file.display().to_string(),
        "name": error.plugin,
        "version": error.version,
        "error": { "kind": error.kind.as_str(), "message": error.message },
    })
}

fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    crate::plugins::registry::wasm_files(dir)
        .with_context(|| format!("cannot read the plugins folder {}", dir.display()))
}

async fn list(config: &Config, as_json: bool) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new(config.limits)?;
    // The plugins folder's compile cache, the one the cycle and the worker use.
    let cache = Arc::new(CompileCache::new(config.plugins_dir.join(CACHE_DIR), runtime.engine()));
    let mut rows = Vec::new();
    let mut failed = 0;
    for file in wasm_files(&config.plugins_dir)? {
        let scope = runtime.scope(&config.tenant, None);
        match LoadedPlugin::load_file_cached(&runtime, &file, Some(cache.clone()), scope).await {
            Ok((plugin, outcome)) => {
                let mut row = plugin_json(&plugin, &file);
                row["compiled"] = json!(match outcome {
                    CacheOutcome::Hit => "cached",
                    CacheOutcome::Compiled => "compiled",
                    CacheOutcome::Shared => "shared",
                });
                rows.push(row);
            }
            Err(error) => {
                failed += 1;
                rows.push(error_json(&error, &file));
            }
        }
    }
    // What running workers serve follows the store (a rollback or promotion
    // may differ from the file) and the shadow designations.
    let active = versions::active_by_name(config).await;
    let shadows = crate::plugins::versions::VersionFolder::in_plugins_dir(&config.plugins_dir).shadows();
    for row in rows.iter_mut().filter(|row| row["ok"] == true) {
        let name = row["name"].as_str().unwrap_or_default().to_string();
        if let Some(sha) = active.get(&name) {
            row["active_sha256"] = json!(sha);
        }
        if let Some(sha) = shadows.get(&name) {
            row["shadow_sha256"] = json!(sha);
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("No plugins in {}", config.plugins_dir.display());
    } else {
        println!("{:<22} {:<17} {:<13} STATUS", "NAME", "KIND", "VERSION");
        for row in &rows {
            let status = if row["ok"] == true {
                let mut status = "serving".to_string();
                if let Some(active) = row["active_sha256"]
                    .as_str()
                    .filter(|a| Some(*a) != row["sha256"].as_str())
                {
                    status = format!(
                        "serving {} from history (the file holds {}; see `cam plugins history`)",
                        &active[..12.min(active.len())],
                        row["version"].as_str().unwrap_or("-")
                    );
                }
                if let Some(shadow) = row["shadow_sha256"].as_str() {
                    status.push_str(&format!(", shadow candidate {}", &shadow[..12.min(shadow.len())]));
                }
                status
            } else {
                format!(
                    "FAILED {}: {}",
                    row["error"]["kind"].as_str().unwrap_or(""),
                    row["error"]["message"].as_str().unwrap_or("")
                )
            };
            println!(
                "{:<22} {:<17} {:<13} {}",
                row["name"].as_str().unwrap_or("?"),
                row["kind"].as_str().unwrap_or("-"),
                row["version"].as_str().unwrap_or("-"),
                status
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
