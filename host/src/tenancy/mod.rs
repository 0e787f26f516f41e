//! Hosted tenants' own settings: sealed at rest under the server key, opened
//! by the worker that runs the tenant's campaign and by the API.

pub mod saving;
pub mod sealing;
pub mod settings;

pub use saving::{Rekeyed, SaveError, rekey, save_settings};
pub use sealing::{OpenError, ServerKeys};
pub use settings::{CampaignDefaults, SealedSettings, SenderIdentity, TenantMail, TenantSettings};

/// The server keys `config` names (`[hosted] server_key_file` or
/// `CAM_SERVER_KEY_FILE`), with what to do when there are none.
pub fn server_keys(config: &crate::config::Config) -> anyhow::Result<ServerKeys> {
    use anyhow::Context as _;
    let file = config.server_key_file().context(
        "no server key file: set [hosted] server_key_file in cam.toml (or CAM_SERVER_KEY_FILE) \
         and create it with `cam tenants keys new`",
    )?;
    ServerKeys::load(&file)
}
