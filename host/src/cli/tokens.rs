//! `cam tokens ...`: API tokens — create (the token is printed once), list,
//! revoke. A token carries its tenant and role: viewers read, operators act
//! on campaigns, leads and replies, admins also manage plugins, settings and
//! tokens; a hosting-operator token (`--role host`, no tenant) manages
//! tenants and nothing inside them.

use std::process::ExitCode;

use chrono::{DateTime, TimeDelta, Utc};
use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::domain::model::{ApiToken, Role};

/// `cam tokens` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token and print it (once: only its hash is kept).
    Create {
        /// The tenant it acts for (leave out for `--role host`).
        #[arg(long)]
        tenant: Option<String>,
        /// viewer, operator, admin, or host (the hosting operator).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A label for lists.
        #[arg(long, default_value = "")]
        name: String,
        /// When it stops working: `90d`, `12h`, or `never`.
        #[arg(long, default_value = "90d", value_parser = parse_lifetime)]
        expires: Lifetime,
    },
    /// The tokens of a tenant (or the hosting operator's, without `--tenant`).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it is refused from the next request on.
    Revoke {
        /// The token's id (the 12 digits after `cam_`, as `list` shows).
        id: String,
    },
}

/// How long a new token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until revoked.
    Never,
    /// This long.
    For(TimeDelta),
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("unknown role {text:?}: use viewer, operator, admin or host"))
}

fn parse_lifetime(text: &str) -> Result<Lifetime, String> {
    if text == "never" {
        return Ok(Lifetime::Never);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a lifetime: use e.g. 90d, 12h or never"))?;
    let delta = match unit {
        "d" => TimeDelta::try_days(n),
        "h" => TimeDelta::try_hours(n),
        _ => None,
    };
    delta
        .map(Lifetime::For)
        .ok_or_else(|| format!("{text:?} is not a lifetime: use e.g. 90d, 12h or never"))
}

/// Runs a `cam tokens` subcommand.
pub async fn run(config: &Config, command: TokensCommand) -> anyhow::Result<ExitCode> {
    let app = crate::app::App::open(config.clone()).await?;
    let store = app.store();
    match command {
        TokensCommand::Create {
            tenant,
            role,
            name,
            expires,
        } => {
            let expires_at = match expires {
                Lifetime::Never => None,
                Lifetime::For(delta) => Some(Utc::now() + delta),
            };
            let issued = crate::tokens::issue(store, tenant.as_deref(), role, &name, expires_at).await?;
            println!("{}", issued.text);
            eprintln!(
                "token {} ({} of {}) {}; it is shown only now",
                issued.record.token.id,
                role.as_str(),
                tenant.as_deref().unwrap_or("the hosting operator"),
                expiry_text(issued.record.token.expires_at)
            );
        }
        TokensCommand::List { tenant, json } => {
            let tokens = store.list_tokens(tenant.as_deref()).await?;
            if json {
                let rows: Vec<_> = tokens.iter().map(token_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if tokens.is_empty() {
                println!("no tokens");
            } else {
                println!("{:<12}  {:<8}  {:<8}  {:<26}  name", "id", "role", "state", "last used");
                for t in &tokens {
                    println!(
                        "{:<12}  {:<8}  {:<8}  {:<26}  {}",
                        t.token.id,
                        t.token.role.as_str(),
                        state(t, Utc::now()),
                        t.last_used_at
                            .map_or("never".to_string(), |at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                        t.token.name
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if store.revoke_token(&id).await? {
                println!("revoked token {id}");
            } else {
                anyhow::bail!("no token {id} that is not revoked already; see `cam tokens list`");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn expiry_text(at: Option<DateTime<Utc>>) -> String {
    at.map_or("never expires".to_string(), |at| {
        format!("expires {}", at.format("%Y-%m-%d %H:%M UTC"))
    })
}

fn state(token: &ApiToken, now: DateTime<Utc>) -> &'static str {
    if token.revoked_at.is_some() {
        "revoked"
    } else if token.token.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

fn token_json(token: &ApiToken) -> serde_json::Value {
    json!({
        "id": token.token.id,
        "tenant": token.token.tenant_id,
        "role": token.token.role,
        "name": token.token.name,
        "state": state(token, Utc::now()),
        "created_at": token.created_at,
        "expires_at": token.token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_days_hours_and_never() {
        assert_eq!(parse_lifetime("90d"), Ok(Lifetime::For(TimeDelta::days(90))));
        assert_eq!(parse_lifetime("12h"), Ok(Lifetime::For(TimeDelta::hours(12))));
        assert_eq!(parse_lifetime("never"), Ok(Lifetime::Never));
        for bad in ["", "d", "0d", "-1d", "3w", "ninety"] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
