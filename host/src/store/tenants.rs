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
}
