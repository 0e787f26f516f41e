//! `cam tenants ...`: the hosting operator's commands for tenants — create,
//! list, show, disable and enable. A disabled tenant's campaigns are never
//! claimed by a worker and its API tokens are refused.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::domain::model::Tenant;
use crate::domain::name;

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
    }
    Ok(ExitCode::SUCCESS)
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    json!({
        "id": tenant.id,
        "name": tenant.name,
        "status": tenant.status(),
        "created_at": tenant.created_at,
        "disabled_at": tenant.disabled_at,
    })
}
