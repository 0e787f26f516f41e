//! Suppressed addresses and domains (they outlive the leads).
//!
//! The trait is implemented once for both backends, in `store/sql/suppressions.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::{Suppression, SuppressionKind, SuppressionReason};
use crate::store::StoreResult;

/// Suppressed addresses and domains (they outlive the leads).
#[async_trait]
pub trait Suppressions: Send + Sync {
    /// Suppresses an address or a domain (normalized to lower case). Adding
    /// an existing entry keeps the first reason.
    async fn add_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        reason: SuppressionReason,
        note: &str,
    ) -> StoreResult<()>;
    /// Whether the address or its domain is suppressed.
    async fn is_suppressed(&self, tenant: &str, email: &str) -> StoreResult<bool> {
        let one = [email.to_string()];
        Ok(!self.suppressed_subset(tenant, &one).await?.is_empty())
    }
    /// The normalized emails of `emails` whose address or domain is suppressed.
    async fn suppressed_subset(&self, tenant: &str, emails: &[String]) -> StoreResult<Vec<String>>;
    /// One entry, if the tenant has it.
    async fn get_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
    ) -> StoreResult<Option<Suppression>>;
    /// Takes an entry off the list, recording it (with `why` and who) in
    /// the list of removals; the removed entry, or `NotFound`.
    async fn remove_suppression(
        &self,
        tenant: &str,
        kind: SuppressionKind,
        value: &str,
        why: &str,
        actor: &str,
    ) -> StoreResult<Suppression>;
    /// All suppression entries, newest first.
    async fn list_suppressions(&self, tenant: &str) -> StoreResult<Vec<Suppression>>;
}
