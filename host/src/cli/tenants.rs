//! `cam tenants ...`: the hosting operator's commands for tenants — create,
//! list, show, disable and enable; their sealed settings, ceilings, and the
//! server keys. A disabled tenant's campaigns are never claimed by a worker
//! and its API tokens are refused.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::domain::model::{Tenant, TenantCeilings};
use crate::domain::name;
use crate::tenancy::{SaveError, ServerKeys, TenantSettings};

/// `cam tenants` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant.
    Create {
        /// Its id: a-z, 0-9, '-' and '_', at most 40 characters.
        id: String,
        /// A display name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// One line per tenant.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One tenant, with its campaigns and tokens counted.
    Show {
        /// The tenant's id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop a tenant: its campaigns are no longer claimed, its tokens refused.
    Disable {
        /// The tenant's id.
        id: String,
    },
    /// Let a disabled tenant run again.
    Enable {
        /// The tenant's id.
        id: String,
    },
    /// A hosted tenant's settings (mailboxes, alert channels, sender
    /// identity), sealed in the database under the server key.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Set what a tenant's plugins may use at most (below the process's
    /// `[limits]`); a value of 0 removes that ceiling.
    Ceilings {
        /// The tenant's id.
        id: String,
        /// Most memory one plugin call may use, in MiB.
        #[arg(long)]
        max_memory_mib: Option<u32>,
        /// Longest one plugin call may run, in milliseconds.
        #[arg(long)]
        max_timeout_ms: Option<u64>,
        /// Most kv storage one plugin may hold, in bytes.
        #[arg(long)]
        max_kv_bytes: Option<u64>,
        /// Most plugin calls of the tenant at once in one worker.
        #[arg(long)]
        max_concurrent_calls: Option<u32>,
    },
    /// The server keys that seal tenants' settings.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Re-seal every tenant's settings with the first server key (after
    /// `cam tenants keys new`); safe while workers run.
    Rekey,
}

/// `cam tenants settings` subcommands.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Replace a tenant's settings with a TOML file (`.json` files are read
    /// as JSON). Secrets are given as values and sealed; a secret left out,
    /// or written "***", keeps the stored one.
    Set {
        /// The tenant's id.
        id: String,
        /// The settings file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Show a tenant's settings, secrets as "***".
    Show {
        /// The tenant's id.
        id: String,
    },
}

/// `cam tenants keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Put a new random key first in the server key file (creating it):
    /// new settings are sealed with it, the older keys still open theirs.
    New {
        /// The new key's id (default: `k` and the current UTC time).
        #[arg(long)]
        id: Option<String>,
    },
    /// The key ids in the file, the sealing one first (never the keys).
    List,
}

/// Runs a `cam tenants` subcommand.
pub async fn run(config: &Config, command: TenantsCommand) -> anyhow::Result<ExitCode> {
    let app = crate::app::App::open(config.clone()).await?;
    let store = app.store().as_ref();
    match command {
        TenantsCommand::Create { id, name: display } => {
            name::validate("tenant id", &id)?;
            let tenant = store.create_tenant(&id, display.as_deref().unwrap_or(&id)).await?;
            println!("created tenant {} ({})", tenant.id, tenant.name);
            // Hosted: the tenant's unsubscribe key is made and sealed now.
            if config.server_key_file().is_some() {
                let keys = crate::tenancy::server_keys(config)?;
                crate::tenancy::save_settings(store, &keys, &tenant.id, TenantSettings::default())
                    .await
                    .map_err(anyhow::Error::from)?;
                println!(
                    "its settings are empty (dry-run only): cam tenants settings set {} --file settings.toml",
                    tenant.id
                );
            }
            println!("next: cam tokens create --tenant {} --role admin", tenant.id);
        }
        TenantsCommand::List { json } => {
            let tenants = store.list_tenants().await?;
            if json {
                let rows: Vec<_> = tenants.iter().map(tenant_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if tenants.is_empty() {
                println!("no tenants yet: cam tenants create <id>");
            } else {
                println!("{:<24} {:<9} {:<20} name", "id", "status", "created");
                for t in &tenants {
                    println!(
                        "{:<24} {:<9} {:<20} {}",
                        t.id,
                        t.status(),
                        t.created_at.format("%Y-%m-%d %H:%M UTC"),
                        t.name
                    );
                }
            }
        }
        TenantsCommand::Show { id, json } => {
            let tenant = store.get_tenant(&id).await?;
            let campaigns = store.list_campaigns(&id).await?.len();
            let tokens = store.list_tokens(Some(&id)).await?;
            let live_tokens = tokens.iter().filter(|t| t.revoked_at.is_none()).count();
            if json {
                let mut value = tenant_json(&tenant);
                value["campaigns"] = json!(campaigns);
                value["tokens"] = json!(live_tokens);
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("tenant     {} ({})", tenant.id, tenant.name);
                println!("status     {}", tenant.status());
                println!("created    {}", tenant.created_at.format("%Y-%m-%d %H:%M UTC"));
                if let Some(at) = tenant.disabled_at {
                    println!("disabled   {}", at.format("%Y-%m-%d %H:%M UTC"));
                }
                println!("campaigns  {campaigns}");
                println!("tokens     {live_tokens} (not revoked)");
                println!("ceilings   {}", ceilings_text(&tenant.ceilings));
            }
        }
        TenantsCommand::Disable { id } => {
            store.set_tenant_disabled(&id, true).await?;
            println!("disabled tenant {id}: its campaigns are not claimed and its tokens are refused");
        }
        TenantsCommand::Enable { id } => {
            store.set_tenant_disabled(&id, false).await?;
            println!("enabled tenant {id}");
        }
        TenantsCommand::Settings(SettingsCommand::Set { id, file }) => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let wanted = if file.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            } else {
                TenantSettings::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e:#}", file.display()))?
            };
            let keys = crate::tenancy::server_keys(config)?;
            match crate::tenancy::save_settings(store, &keys, &id, wanted).await {
                Ok((saved, revision)) => {
                    println!(
                        "saved the settings of tenant {id} (revision {revision}, sealed with key {}): {} sending \
                         mailbox(es), {} inbox(es), alerts to {}{}",
                        keys.sealing_id(),
                        saved.mail.smtp.len(),
                        saved.mail.imap.len(),
                        saved.alerts.email.as_deref().unwrap_or("no address"),
                        if saved.alerts.webhook.is_some() {
                            " and a webhook"
                        } else {
                            ""
                        },
                    );
                }
                Err(SaveError::Invalid(problems)) => {
                    eprintln!("{}: the settings were not saved:", file.display());
                    for p in problems {
                        eprintln!("  - {}: {}", p.field, p.message);
                    }
                    return Ok(ExitCode::FAILURE);
                }
                Err(other) => return Err(other.into()),
            }
        }
        TenantsCommand::Settings(SettingsCommand::Show { id }) => {
            store.get_tenant(&id).await?;
            let app = crate::app::App::open(config.clone()).await?;
            match app.tenant_settings(&id).await? {
                Some((opened, revision)) => {
                    println!("# tenant {id}, revision {revision}; secrets are shown as \"***\"");
                    print!("{}", toml::to_string(&opened.settings.redacted())?);
                }
                None => println!("tenant {id} has no settings: cam tenants settings set {id} --file settings.toml"),
            }
        }
        TenantsCommand::Ceilings {
            id,
            max_memory_mib,
            max_timeout_ms,
            max_kv_bytes,
            max_concurrent_calls,
        } => {
            let mut ceilings = store.get_tenant(&id).await?.ceilings;
            let set = |value: Option<u64>, current: &mut Option<u64>| {
                if let Some(v) = value {
                    *current = (v > 0).then_some(v);
                }
            };
            let mut memory = ceilings.max_memory_mib.map(u64::from);
            set(max_memory_mib.map(u64::from), &mut memory);
            ceilings.max_memory_mib = memory.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
            set(max_timeout_ms, &mut ceilings.max_timeout_ms);
            set(max_kv_bytes, &mut ceilings.max_kv_bytes);
            let mut calls = ceilings.max_concurrent_calls.map(u64::from);
            set(max_concurrent_calls.map(u64::from), &mut calls);
            ceilings.max_concurrent_calls = calls.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
            let tenant = store.set_tenant_ceilings(&id, ceilings).await?;
            println!("ceilings of tenant {id}: {}", ceilings_text(&tenant.ceilings));
            println!("workers apply them when they next open the tenant's plugins (a restart, or its next upload)");
        }
        TenantsCommand::Keys(KeysCommand::New { id }) => {
            let file = config.server_key_file().ok_or_else(|| {
                anyhow::anyhow!("set [hosted] server_key_file in cam.toml (or CAM_SERVER_KEY_FILE) first")
            })?;
            let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d%H%M%S")));
            let keys = ServerKeys::add_new_key(&file, &id)?;
            println!(
                "new server key {id} put first in {}; keys now: {}",
                file.display(),
                keys.ids().join(", ")
            );
            if keys.ids().len() > 1 {
                println!("next: give every worker this file, then run `cam tenants rekey`; then delete the old lines");
            }
        }
        TenantsCommand::Keys(KeysCommand::List) => {
            let keys = crate::tenancy::server_keys(config)?;
            for (i, id) in keys.ids().iter().enumerate() {
                println!("{id}{}", if i == 0 { "  (seals)" } else { "  (opens only)" });
            }
        }
        TenantsCommand::Rekey => {
            let keys = crate::tenancy::server_keys(config)?;
            let done = crate::tenancy::rekey(store, &keys).await?;
            println!(
                "re-sealed {} tenant(s) with key {}{}; {} already were",
                done.resealed.len(),
                keys.sealing_id(),
                if done.resealed.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", done.resealed.join(", "))
                },
                done.current
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A tenant's ceilings as one line.
pub fn ceilings_text(c: &TenantCeilings) -> String {
    let show = |v: Option<u64>, unit: &str| v.map_or("process default".to_string(), |v| format!("{v}{unit}"));
    format!(
        "memory {}, timeout {}, kv {}, concurrent calls {}",
        show(c.max_memory_mib.map(u64::from), " MiB"),
        show(c.max_timeout_ms, " ms"),
        show(c.max_kv_bytes, " bytes"),
        show(c.max_concurrent_calls.map(u64::from), "")
    )
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    json!({
        "id": tenant.id,
        "name": tenant.name,
        "status": tenant.status(),
        "created_at": tenant.created_at,
        "disabled_at": tenant.disabled_at,
        "ceilings": tenant.ceilings,
    })
}
