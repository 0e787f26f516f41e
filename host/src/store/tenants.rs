//! Tenants: the accounts every other row belongs to.
//!
//! The trait is implemented once for both backends, in `store/sql/tenants.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::{Tenant, TenantCeilings};
use crate::store::StoreResult;

/// Tenants: the accounts every other row belongs to.
#[async_trait]
pub trait Tenants: Send + Sync {
    /// Creates the tenant if missing (the name is only set on creation).
    async fn ensure_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant>;
    /// One tenant.
    async fn get_tenant(&self, id: &str) -> StoreResult<Tenant>;
    /// Creates a new tenant; [`StoreError::Duplicate`](crate::store::StoreError::Duplicate)
    /// when the id is taken.
    async fn create_tenant(&self, id: &str, name: &str) -> StoreResult<Tenant>;
    /// Every tenant, by id.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Disables the tenant (its campaigns are no longer claimed, its tokens
    /// refused) or enables it again. Returns the tenant as it is now.
    async fn set_tenant_disabled(&self, id: &str, disabled: bool) -> StoreResult<Tenant>;
    /// Sets the tenant's ceilings. Returns the tenant as it is now.
    async fn set_tenant_ceilings(&self, id: &str, ceilings: TenantCeilings) -> StoreResult<Tenant>;
    /// The tenant's sealed settings, if it has any (hosted tenants do).
    async fn tenant_settings(&self, id: &str) -> StoreResult<Option<StoredSettings>>;
    /// Stores the tenant's sealed settings. With `expected_revision`, only
    /// over that revision ([`StoreError::Conflict`](crate::store::StoreError::Conflict)
    /// when someone wrote meanwhile); `None` writes whatever is there.
    /// Returns the new revision.
    async fn save_tenant_settings(
        &self,
        id: &str,
        sealed: &str,
        key_id: &str,
        expected_revision: Option<i64>,
    ) -> StoreResult<i64>;
    /// The revision of every tenant's settings and the key sealing them.
    async fn settings_revisions(&self) -> StoreResult<Vec<SettingsRevision>>;
}

/// A tenant's sealed settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    /// The sealed document.
    pub sealed: String,
    /// Grows with every write.
    pub revision: i64,
}

/// Which revision of a tenant's settings is stored, under which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRevision {
    /// The tenant.
    pub tenant: String,
    /// Its settings' revision.
    pub revision: i64,
    /// The server key sealing them.
    pub key_id: String,
}
