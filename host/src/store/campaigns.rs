//! Campaigns and their lead-source cursors.
//!
//! The trait is implemented once for both backends, in `store/sql/campaigns.rs`
//! (see [`crate::store`]).

use async_trait::async_trait;

use crate::domain::model::{Campaign, CampaignStatus, NewCampaign};
use crate::store::StoreResult;

/// Campaigns and their lead-source cursors.
#[async_trait]
pub trait Campaigns: Send + Sync {
    /// Stores a new campaign, PAUSED until started. `Duplicate` if the name is taken.
    async fn create_campaign(&self, tenant: &str, campaign: &NewCampaign) -> StoreResult<Campaign>;
    /// One campaign by id.
    async fn get_campaign(&self, tenant: &str, id: i64) -> StoreResult<Campaign>;
    /// One campaign by name.
    async fn campaign_by_name(&self, tenant: &str, name: &str) -> StoreResult<Campaign>;
    /// All of a tenant's campaigns, by id.
    async fn list_campaigns(&self, tenant: &str) -> StoreResult<Vec<Campaign>>;
    /// Replaces a campaign's configuration (name included) and keeps its status.
    async fn update_campaign_config(&self, tenant: &str, id: i64, campaign: &NewCampaign) -> StoreResult<Campaign>;
    /// Changes the status, recording why and who.
    async fn set_campaign_status(
        &self,
        tenant: &str,
        id: i64,
        status: CampaignStatus,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Campaign>;
    /// Changes the campaign-wide daily cap.
    async fn set_daily_cap(&self, tenant: &str, id: i64, cap: u32) -> StoreResult<()>;
    /// The cursor a lead source returned last for this campaign.
    async fn source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str) -> StoreResult<Option<String>>;
    /// Persists a lead source's next cursor.
    async fn set_source_cursor(&self, tenant: &str, campaign_id: i64, plugin: &str, cursor: &str) -> StoreResult<()>;
}
