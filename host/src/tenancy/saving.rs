//! Writing hosted tenants' settings: validated, merged with the secrets
//! already stored, sealed, and stored over the revision that was read — the
//! one path `cam tenants settings set`, the API and key rotation share.

use super::sealing::ServerKeys;
use super::settings::{SealedSettings, TenantSettings};
use crate::domain::campaign_def::FieldProblem;
use crate::store::{Store, StoreError};

/// Tries of a write that lost a race with another writer.
const TRIES: usize = 3;

/// Why settings were not saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The settings have problems, each with its field.
    #[error("the settings are not valid:{}", list(.0))]
    Invalid(Vec<FieldProblem>),
    /// The stored settings or the store failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn list(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n  - {}: {}", p.field, p.message))
        .collect()
}

/// Replaces `tenant`'s settings by `wanted`: secrets left out or given as
/// `"***"` keep their stored values, the unsubscribe key stays (a new one is
/// made for a tenant's first settings). Returns what is stored now and its
/// revision.
pub async fn save_settings(
    store: &dyn Store,
    keys: &ServerKeys,
    tenant: &str,
    wanted: TenantSettings,
) -> Result<(TenantSettings, i64), SaveError> {
    store.get_tenant(tenant).await.map_err(anyhow::Error::from)?;
    let mut last_conflict = None;
    for _ in 0..TRIES {
        let current = store.tenant_settings(tenant).await.map_err(anyhow::Error::from)?;
        let (merged, key, revision) = match &current {
            Some(stored) => {
                let opened = SealedSettings::open(keys, tenant, &stored.sealed)?;
                (
                    wanted.clone().keeping_secrets_of(&opened.settings),
                    Some(opened.unsubscribe_key),
                    Some(stored.revision),
                )
            }
            None => (wanted.clone(), None, None),
        };
        let problems = merged.problems();
        if !problems.is_empty() {
            return Err(SaveError::Invalid(problems));
        }
        let sealed = merged.seal(keys, tenant, key.as_deref());
        match store
            .save_tenant_settings(tenant, &sealed, keys.sealing_id(), revision)
            .await
        {
            Ok(revision) => return Ok((merged, revision)),
            Err(StoreError::Conflict(message)) => last_conflict = Some(message),
            Err(other) => return Err(SaveError::Other(other.into())),
        }
    }
    Err(SaveError::Other(anyhow::anyhow!(
        "{} (tried {TRIES} times; someone keeps changing them)",
        last_conflict.unwrap_or_default()
    )))
}

/// What [`rekey`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// Tenants whose settings were re-sealed with the sealing key.
    pub resealed: Vec<String>,
    /// Tenants already sealed with it.
    pub current: usize,
}

/// Re-seals every tenant's settings still sealed with an older key, under
/// the first key of `keys`. Safe while workers and the API run: each write
/// goes over the revision it read, and a tenant edited meanwhile is read
/// again.
pub async fn rekey(store: &dyn Store, keys: &ServerKeys) -> anyhow::Result<Rekeyed> {
    let mut done = Rekeyed::default();
    for row in store.settings_revisions().await? {
        if row.key_id == keys.sealing_id() {
            done.current += 1;
            continue;
        }
        let mut resealed = false;
        for _ in 0..TRIES {
            let Some(stored) = store.tenant_settings(&row.tenant).await? else {
                break;
            };
            if ServerKeys::key_id_of(&stored.sealed) == Some(keys.sealing_id()) {
                resealed = true;
                break;
            }
            let plain = keys
                .open(&row.tenant, &stored.sealed)
                .map_err(|e| anyhow::anyhow!("the settings of tenant {:?} do not open: {e}", row.tenant))?;
            let sealed = keys.seal(&row.tenant, &plain);
            match store
                .save_tenant_settings(&row.tenant, &sealed, keys.sealing_id(), Some(stored.revision))
                .await
            {
                Ok(_) => {
                    resealed = true;
                    break;
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        if !resealed {
            anyhow::bail!(
                "tenant {:?}: its settings kept changing while being re-sealed; run rekey again",
                row.tenant
            );
        }
        done.resealed.push(row.tenant);
    }
    Ok(done)
}
