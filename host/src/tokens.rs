//! API tokens: issuing them (the secret is shown once and stored only as a
//! hash) and checking the one a request carries.
//!
//! A token reads `cam_<id>_<secret>`: `<id>` (12 hex digits) finds the row,
//! `<secret>` (64 hex digits, 256 random bits) proves possession; its
//! SHA-256 is compared with the stored one in constant time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::model::{ApiToken, NewApiToken, Role};
use crate::store::{Store, StoreError};

/// The prefix every token starts with.
pub const PREFIX: &str = "cam_";

/// How precisely a token's last use is kept: a use within this long of the
/// recorded one is not written again.
pub const LAST_USE_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// A token just issued: its text (shown once, never stored) and its record.
#[derive(Debug)]
pub struct IssuedToken {
    /// The whole token, to hand to the client.
    pub text: String,
    /// What was stored.
    pub record: ApiToken,
}

/// Who a request acts as, once its token is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's public id.
    pub token_id: String,
    /// The tenant it acts for; `None` for the hosting operator.
    pub tenant: Option<String>,
    /// What it may do.
    pub role: Role,
}

/// Why a token was refused. The API answers every one of them the same
/// way (401), so a caller learns nothing about which tokens exist.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not of the form `cam_<id>_<secret>`.
    #[error("the token is malformed")]
    Malformed,
    /// No token has that id, or the secret does not match.
    #[error("no such token")]
    Unknown,
    /// The token was revoked.
    #[error("the token was revoked")]
    Revoked,
    /// The token expired.
    #[error("the token expired")]
    Expired,
    /// The token's tenant is disabled.
    #[error("the token's tenant is disabled")]
    TenantDisabled,
    /// The store could not be asked.
    #[error("cannot check the token")]
    Store(#[source] StoreError),
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The hosting operator's role belongs to no tenant, every other role to one.
    #[error("{0}")]
    WrongScope(&'static str),
    /// The store failed (or the tenant does not exist).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues a token for `tenant` (`None`: the hosting operator, whose role
/// must be [`Role::Host`]) with `role`, named `name`, expiring at `expires_at`.
pub async fn issue(
    store: &Arc<dyn Store>,
    tenant: Option<&str>,
    role: Role,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedToken, IssueError> {
    match (tenant, role) {
        (None, Role::Host) => {}
        (None, _) => {
            return Err(IssueError::WrongScope(
                "a viewer, operator or admin token needs a tenant",
            ));
        }
        (Some(_), Role::Host) => {
            return Err(IssueError::WrongScope(
                "a hosting-operator token belongs to no tenant; leave the tenant out",
            ));
        }
        (Some(tenant), _) => {
            store.get_tenant(tenant).await?;
        }
    }
    let id = hex::encode(rand::random::<[u8; 6]>());
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let record = store
        .insert_token(&NewApiToken {
            id: id.clone(),
            tenant_id: tenant.map(str::to_string),
            role,
            name: name.to_string(),
            secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
            expires_at,
        })
        .await?;
    Ok(IssuedToken {
        text: format!("{PREFIX}{id}_{secret}"),
        record,
    })
}

/// Checks `text` (a whole token) at `now`: it must exist, match, be neither
/// revoked nor expired, and its tenant must be enabled. Records the use.
pub async fn authenticate(store: &dyn Store, text: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
    let (id, secret) = text
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .filter(|(id, secret)| {
            id.len() == 12
                && secret.len() == 64
                && [id, secret].iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .ok_or(AuthError::Malformed)?;
    let token = store.token_by_id(id).await.map_err(AuthError::Store)?;
    let presented = hex::encode(Sha256::digest(secret.as_bytes()));
    // Compare even when the id is unknown, so timing says nothing either way.
    let stored = token.as_ref().map_or("", |t| t.token.secret_sha256.as_str());
    if !constant_time_eq(presented.as_bytes(), stored.as_bytes()) {
        return Err(AuthError::Unknown);
    }
    let Some(token) = token else {
        return Err(AuthError::Unknown);
    };
    if token.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if token.token.expires_at.is_some_and(|at| at <= now) {
        return Err(AuthError::Expired);
    }
    if let Some(tenant) = &token.token.tenant_id {
        let tenant = store.get_tenant(tenant).await.map_err(AuthError::Store)?;
        if tenant.disabled_at.is_some() {
            return Err(AuthError::TenantDisabled);
        }
    }
    // Record the use, but not on every request: a client polling the API
    // would otherwise make each of its reads a write.
    if token.last_used_at.is_none_or(|at| now - at >= LAST_USE_RESOLUTION) {
        store.touch_token(id, now).await.map_err(AuthError::Store)?;
    }
    Ok(Principal {
        token_id: token.token.id,
        tenant: token.token.tenant_id,
        role: token.token.role,
    })
}

/// `a == b`, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("cam.db").display());
        let store = crate::store::open(&url).await.expect("store");
        store.create_tenant("acme", "Acme").await.expect("tenant");
        (dir, store)
    }

    #[tokio::test]
    async fn an_issued_token_authenticates_as_its_tenant_and_role_until_revoked() {
        let (_dir, store) = store().await;
        let issued = issue(&store, Some("acme"), Role::Operator, "ci", None)
            .await
            .expect("issued");
        assert!(issued.text.starts_with("cam_"));
        assert!(
            !issued.record.token.secret_sha256.contains(&issued.text[17..]),
            "only the hash is stored"
        );
        let now = Utc::now();
        let who = authenticate(store.as_ref(), &issued.text, now).await.expect("accepted");
        assert_eq!(who.tenant.as_deref(), Some("acme"));
        assert_eq!(who.role, Role::Operator);
        let stored = store.token_by_id(&who.token_id).await.unwrap().unwrap();
        assert!(stored.last_used_at.is_some(), "the use is recorded");

        let mut wrong = issued.text.clone();
        wrong.replace_range(wrong.len() - 1.., if wrong.ends_with('0') { "1" } else { "0" });
        assert!(matches!(
            authenticate(store.as_ref(), &wrong, now).await,
            Err(AuthError::Unknown)
        ));
        for garbage in ["", "cam_", "Bearer x", "cam_zz_zz", &issued.text[..20]] {
            assert!(
                matches!(
                    authenticate(store.as_ref(), garbage, now).await,
                    Err(AuthError::Malformed)
                ),
                "{garbage:?}"
            );
        }
        store.set_tenant_disabled("acme", true).await.unwrap();
        assert!(matches!(
            authenticate(store.as_ref(), &issued.text, now).await,
            Err(AuthError::TenantDisabled)
        ));
        store.set_tenant_disabled("acme", false).await.unwrap();
        store.revoke_token(&who.token_id).await.unwrap();
        assert!(matches!(
            authenticate(store.as_ref(), &issued.text, now).await,
            Err(AuthError::Revoked)
        ));
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_and_scopes_are_checked_on_issue() {
        let (_dir, store) = store().await;
        let now = Utc::now();
        let issued = issue(
            &store,
            Some("acme"),
            Role::Viewer,
            "short",
            Some(now + TimeDelta::hours(1)),
        )
        .await
        .expect("issued");
        assert!(authenticate(store.as_ref(), &issued.text, now).await.is_ok());
        assert!(matches!(
            authenticate(store.as_ref(), &issued.text, now + TimeDelta::hours(2)).await,
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            issue(&store, None, Role::Admin, "x", None).await,
            Err(IssueError::WrongScope(_))
        ));
        assert!(matches!(
            issue(&store, Some("acme"), Role::Host, "x", None).await,
            Err(IssueError::WrongScope(_))
        ));
        assert!(matches!(
            issue(&store, Some("nobody"), Role::Admin, "x", None).await,
            Err(IssueError::Store(StoreError::NotFound { .. }))
        ));
        let host = issue(&store, None, Role::Host, "ops", None).await.expect("host token");
        let who = authenticate(store.as_ref(), &host.text, now).await.expect("host");
        assert_eq!((who.tenant, who.role), (None, Role::Host));
    }
}
