//! `log`: structured lines into the host's tracing, tagged with the plugin,
//! its version and the tenant; rate-limited per call.

use crate::runtime::bindings::log::{self, Level};
use crate::runtime::bindings::types::{Attribute, Capability};
use crate::runtime::guest_text::escaped;
use crate::runtime::state::PluginState;

/// Longest message kept; longer ones are cut (a log line, not a payload).
const MAX_MESSAGE_BYTES: usize = 2 * 1024;
/// Fields kept per line.
const MAX_FIELDS: usize = 16;

impl log::Host for PluginState {
    fn log(&mut self, level: Level, message: String, fields: Vec<Attribute>) -> wasmtime::Result<()> {
        if !self.use_capability(Capability::Log, self.identity.grants.log)? {
            // Audit mode: the line is dropped, and kept for the report only.
            if let Some(audit) = &self.scope.audit {
                audit.log_line(format!(
                    "{} (dropped: `log` not granted)",
                    audit_line(level, &message, &fields)
                ));
            }
            return Ok(());
        }
        if let Some(audit) = &self.scope.audit {
            audit.log_line(audit_line(level, &message, &fields));
        }
        if self.counters.log_lines >= self.identity.limits.max_log_lines {
            self.counters.log_dropped += 1;
            return Ok(());
        }
        self.counters.log_lines += 1;
        // The plugin's words, escaped: a newline or an escape sequence in a
        // message or field cannot start a line of its own in the host's log.
        let message = escaped(truncate(&message, MAX_MESSAGE_BYTES), usize::MAX);
        let fields = fields
            .iter()
            .take(MAX_FIELDS)
            .map(|a| {
                format!(
                    "{}={}",
                    escaped(truncate(&a.key, 64), usize::MAX),
                    escaped(truncate(&a.value, 256), usize::MAX)
                )
            })
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

/// One log line as `cam plugins check` shows it: `LEVEL message key=value...`.
fn audit_line(level: Level, message: &str, fields: &[Attribute]) -> String {
    let level = match level {
        Level::Trace => "TRACE",
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warn => "WARN",
        Level::Error => "ERROR",
    };
    let mut line = format!("{level} {}", escaped(truncate(message, 200), usize::MAX));
    for a in fields.iter().take(MAX_FIELDS) {
        line.push_str(&format!(
            " {}={}",
            escaped(truncate(&a.key, 64), usize::MAX),
            escaped(truncate(&a.value, 64), usize::MAX)
        ));
    }
    line
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
