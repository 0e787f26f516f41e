//! What a plugin is granted: each host import is denied unless its grant is
//! here. Parsed from the plugin's manifest (`[capabilities]`) when it loads
//! and checked inside every host call.

use serde::Deserialize;

use super::bindings::types::Capability;
use super::host_pattern::HostPattern;

/// The `kv` grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvGrant {
    /// Total bytes (keys + values) the plugin may keep per tenant.
    #[serde(default = "default_kv_quota")]
    pub quota_bytes: u64,
}

/// Default kv quota: room for cursors and small caches, not for data sets.
pub const DEFAULT_KV_QUOTA_BYTES: u64 = 64 * 1024;

fn default_kv_quota() -> u64 {
    DEFAULT_KV_QUOTA_BYTES
}

/// The `http` grant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGrant {
    /// The hosts the plugin may reach, as `host[:port]` patterns.
    pub allow: Vec<HostPattern>,
}

/// The host capabilities granted to a plugin. Everything is denied unless granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Structured logging.
    #[serde(default)]
    pub log: bool,
    /// Reading its own `[config]`.
    #[serde(default)]
    pub config: bool,
    /// A per-tenant key-value store.
    #[serde(default)]
    pub kv: Option<KvGrant>,
    /// Outbound HTTP to listed hosts.
    #[serde(default)]
    pub http: Option<HttpGrant>,
    /// The cycle's clock.
    #[serde(default)]
    pub clock: bool,
}

impl Capability {
    /// Every capability, in the order of the WIT `capability` enum.
    pub const ALL: [Capability; 5] = [
        Capability::Log,
        Capability::Config,
        Capability::Kv,
        Capability::Http,
        Capability::Clock,
    ];

    /// The manifest name (`log`, `config`, `kv`, `http`, `clock`): the key under `[capabilities]`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Config => "config",
            Capability::Kv => "kv",
            Capability::Http => "http",
            Capability::Clock => "clock",
        }
    }
}

impl Grants {
    /// Whether `capability` is granted.
    pub fn grants(&self, capability: Capability) -> bool {
        match capability {
            Capability::Log => self.log,
            Capability::Config => self.config,
            Capability::Kv => self.kv.is_some(),
            Capability::Http => self.http.is_some(),
            Capability::Clock => self.clock,
        }
    }
}
