//! API tokens: who may call the REST API, for which tenant, in which role.
//! Only a hash of each token's secret is stored.
//!
//! The trait is implemented once for both backends, in `store/sql/tokens.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::model::{ApiToken, NewApiToken};
use crate::store::StoreResult;

/// API tokens.
#[async_trait]
pub trait ApiTokens: Send + Sync {
    /// Stores a new token.
    async fn insert_token(&self, token: &NewApiToken) -> StoreResult<ApiToken>;
    /// The token with public id `id`, revoked or not.
    async fn token_by_id(&self, id: &str) -> StoreResult<Option<ApiToken>>;
    /// The tokens of `tenant` (`None`: the hosting operator's), newest first.
    async fn list_tokens(&self, tenant: Option<&str>) -> StoreResult<Vec<ApiToken>>;
    /// Revokes the token; `false` if there is no such token or it was
    /// revoked already.
    async fn revoke_token(&self, id: &str) -> StoreResult<bool>;
    /// Records that the token was accepted at `at`.
    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
}
