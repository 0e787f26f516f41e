//! Write cam plugins in Rust: a plugin is a struct and a trait impl, no raw
//! bindings in sight.
//!
//! Enable the cargo feature of your plugin's kind (`lead-source`, `enricher`,
//! `scorer`, `reply-classifier` or `decision-rule`), implement its trait and
//! export your type with the kind's macro:
//!
//! ```
//! # #[cfg(feature = "scorer")]
//! # mod example {
//! use cam_plugin_sdk::{Capability, Lead, PluginInfo, Score, Scorer, config};
//!
//! pub struct Constant;
//!
//! impl Scorer for Constant {
//!     fn describe() -> PluginInfo {
//!         let about = "Scores every lead the same";
//!         PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), about, &[Capability::Config])
//!     }
//!
//!     fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
//!         // Config values that are not strings arrive as JSON text.
//!         let value: f32 = config::get_json("value")?.unwrap_or(0.5);
//!         cam_plugin_sdk::debug!("scoring {} leads", leads.len());
//!         Ok(leads.iter().map(|_| Score::new(value, vec!["constant".into()])).collect())
//!     }
//! }
//!
//! cam_plugin_sdk::export_scorer!(Constant);
//! # }
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`: the `cdylib` is
//! already a component. The host imports are wrapped in [`log`], [`config`],
//! [`kv`], [`http`] and [`clock`]; each is denied unless the plugin's manifest
//! grants it, and a denied call comes back as an error value.
//!
//! Natively (`cargo test` on the build machine) the export macros expand to
//! nothing and the host imports are served by the in-memory fakes in
//! [`testing`], so a plugin's logic, its `describe` and even its trait
//! methods can be unit-tested without a host.

#[doc(hidden)]
pub mod bindings;
pub mod clock;
pub mod config;
pub mod http;
mod kinds;
pub mod kv;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod types;

pub use bindings::host::cam::plugin::types::{
    Action, Attribute, BounceKind, CampaignMetrics, CampaignSnapshot, CampaignStatus, Capability, Classification, Date,
    Decision, Enrichment, InboundReply, Lead, LeadMove, LeadPage, LeadState, PluginInfo, Referral, ReplyLabel, Score,
    StateCount,
};
#[cfg(feature = "decision-rule")]
pub use kinds::DecisionRule;
#[cfg(feature = "enricher")]
pub use kinds::Enricher;
#[cfg(feature = "lead-source")]
pub use kinds::LeadSource;
#[cfg(feature = "reply-classifier")]
pub use kinds::ReplyClassifier;
#[cfg(feature = "scorer")]
pub use kinds::Scorer;

/// Re-exported for plugins that (de)serialize their config or HTTP bodies
/// without a direct dependency of their own.
pub use serde;
/// Re-exported for plugins that (de)serialize their config or HTTP bodies
/// without a direct dependency of their own.
pub use serde_json;
