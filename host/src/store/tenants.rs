//! Tenants: the accounts every other row belongs to.
//!
//! The trait is implemented once for both backends, in `store/sql/tenants.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::Tenant;
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
}
