//! `log`: structured lines into the host's tracing, tagged with the plugin,
//! its version and the tenant; rate-limited per call.

use crate::runtime::bindings::log::{self, Level};
use crate::runtime::bindings::types::Attribute;
use crate::runtime::error::CapabilityDenied;
use crate::runtime::state::PluginState;

/// Longest message kept; longer ones are cut (a log line, not a payload).
const MAX_MESSAGE_BYTES: usize = 2 * 1024;
/// Fields kept per line.
const MAX_FIELDS: usize = 16;

impl log::Host for PluginState {
    fn log(&mut self, level: Level, message: String, fields: Vec<Attribute>) -> wasmtime::Result<()> {
        if !self.identity.grants.log {
            return Err(CapabilityDenied("log").into());
        }
        if self.counters.log_lines >= self.identity.limits.max_log_lines {
            self.counters.log_dropped += 1;
            return Ok(());
        }
        self.counters.log_lines += 1;
        let message = truncate(&message, MAX_MESSAGE_BYTES);
        let fields = fields
            .iter()
            .take(MAX_FIELDS)
            .map(|a| format!("{}={}", truncate(&a.key, 64), truncate(&a.value, 256)))
            .collect::<Vec<_>>()
            .join(" ");
        let plugin = self.identity.name.as_str();
        let version = self.identity.version.as_str();
        let tenant = self.scope.tenant.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "cam::plugin", plugin, version, tenant, fields, "{message}"),
            Level::Debug => tracing::debug!(target: "cam::plugin", plugin, version, tenant, fields, "{message}"),
            Level::Info => tracing::info!(target: "cam::plugin", plugin, version, tenant, fields, "{message}"),
            Level::Warn => tracing::warn!(target: "cam::plugin", plugin, version, tenant, fields, "{message}"),
            Level::Error => tracing::error!(target: "cam::plugin", plugin, version, tenant, fields, "{message}"),
        }
        Ok(())
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
