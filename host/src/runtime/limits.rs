//! Per-call limits: the operator's maxima and a plugin's own, lower ones.

use std::time::Duration;

use serde::Deserialize;

/// Limits for one plugin call. The operator sets the maxima in the host
/// config; a manifest may only lower them (see [`Limits::lowered_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline of one call, instantiation included.
    pub timeout: Duration,
    /// Memory budget of one call, in bytes: every linear memory and table
    /// of the call's instance, summed (see `CallLimiter`).
    pub memory_bytes: usize,
    /// The most data the host sends into one call (sum of strings and lists).
    pub max_input_bytes: usize,
    /// The most data the host accepts back from one call.
    pub max_output_bytes: usize,
    /// Log lines accepted per call; later lines are counted and dropped.
    pub max_log_lines: u32,
    /// Bytes of HTTP response body accepted per request.
    pub max_http_response_bytes: usize,
    /// Consecutive failures after which a plugin version is quarantined.
    pub quarantine_after: u32,
    /// Plugin calls one tenant may run at once in this process; more wait
    /// for one of the tenant's own calls to end.
    pub max_concurrent_calls_per_tenant: usize,
}

/// Default call deadline: generous for a batch of 1,000 leads, short enough
/// that a looping plugin costs a cycle little.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default memory cap: a JavaScript engine needs tens of MiB; 256 MiB leaves room
/// for big batches while bounding what one bad plugin can take.
pub const DEFAULT_MEMORY_BYTES: usize = 256 << 20;
/// Default input cap per call: 16 MiB is several thousand leads.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 16 << 20;
/// Default output cap per call.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 16 << 20;
/// Default log lines per call: enough to explain a batch, not enough to flood.
pub const DEFAULT_MAX_LOG_LINES: u32 = 100;
/// Default HTTP response body cap: a page of an API, not a download.
pub const DEFAULT_MAX_HTTP_RESPONSE_BYTES: usize = 8 << 20;
/// Default calls one tenant may run at once: a quarter of the pool
/// (`runtime::engine`'s 128 slots), so four busy tenants still leave
/// nothing idle and no single one takes it all.
pub const DEFAULT_MAX_CONCURRENT_CALLS_PER_TENANT: usize = 32;
/// Default failures in a row before quarantine.
pub const DEFAULT_QUARANTINE_AFTER: u32 = 5;
/// Wasm stack cap. 512 KiB is wasmtime's default and deep enough for any
/// reasonable plugin; recursion past it is a `stack-overflow` failure.
pub const MAX_WASM_STACK: usize = 512 << 10;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_log_lines: DEFAULT_MAX_LOG_LINES,
            max_http_response_bytes: DEFAULT_MAX_HTTP_RESPONSE_BYTES,
            quarantine_after: DEFAULT_QUARANTINE_AFTER,
            max_concurrent_calls_per_tenant: DEFAULT_MAX_CONCURRENT_CALLS_PER_TENANT,
        }
    }
}

/// A `[limits]` table as written: in `cam.toml` it sets the operator's
/// maxima ([`Limits::set_by`]); in a plugin manifest it can only lower them
/// ([`Limits::lowered_by`]: a higher value is clamped and reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Call deadline in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Memory budget of a call in MiB: all its linear memories and tables together.
    pub memory_mib: Option<u64>,
    /// Output cap in KiB.
    pub max_output_kib: Option<u64>,
    /// Log lines per call.
    pub max_log_lines: Option<u32>,
    /// Failures in a row before quarantine.
    pub quarantine_after: Option<u32>,
    /// Calls one tenant may run at once (the operator's; ignored in a manifest).
    pub max_concurrent_calls_per_tenant: Option<usize>,
}

/// What the hosting operator lets one tenant's plugins use, below the
/// process's maxima: applied when a version is loaded for the tenant, before
/// the manifest's own `[limits]` (which can only lower them further).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantCeiling {
    /// Call deadline, memory and the rest, as in `[limits]`.
    pub limits: LimitSettings,
    /// Most kv storage one plugin may hold, in bytes (the manifest's
    /// `kv = { quota_bytes }` is lowered to it).
    pub kv_bytes: Option<u64>,
}

impl Limits {
    /// These limits with every value `settings` gives replaced (the
    /// operator's own maxima, from `cam.toml`).
    pub fn set_by(&self, settings: &LimitSettings) -> Limits {
        let mut limits = *self;
        if let Some(ms) = settings.timeout_ms {
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(mib) = settings.memory_mib {
            limits.memory_bytes = mib_to_bytes(mib);
        }
        if let Some(kib) = settings.max_output_kib {
            limits.max_output_bytes = usize::try_from(kib.saturating_mul(1 << 10)).unwrap_or(usize::MAX);
        }
        if let Some(n) = settings.max_log_lines {
            limits.max_log_lines = n;
        }
        if let Some(n) = settings.quarantine_after {
            limits.quarantine_after = n;
        }
        if let Some(n) = settings.max_concurrent_calls_per_tenant {
            limits.max_concurrent_calls_per_tenant = n.max(1);
        }
        limits
    }

    /// These limits lowered by a manifest's overrides. Returns the effective
    /// limits and a note for every override that asked for more than allowed.
    pub fn lowered_by(&self, overrides: &LimitSettings) -> (Limits, Vec<String>) {
        let mut limits = *self;
        let mut notes = Vec::new();
        if let Some(ms) = overrides.timeout_ms {
            let wanted = Duration::from_millis(ms);
            if wanted > self.timeout {
                notes.push(format!(
                    "timeout_ms = {ms} exceeds the operator's {} ms; using that",
                    self.timeout.as_millis()
                ));
            } else {
                limits.timeout = wanted;
            }
        }
        if let Some(mib) = overrides.memory_mib {
            let wanted = mib_to_bytes(mib);
            if wanted > self.memory_bytes {
                notes.push(format!(
                    "memory_mib = {mib} exceeds the operator's {} MiB; using that",
                    self.memory_bytes >> 20
                ));
            } else {
                limits.memory_bytes = wanted;
            }
        }
        if let Some(kib) = overrides.max_output_kib {
            let wanted = usize::try_from(kib.saturating_mul(1 << 10)).unwrap_or(usize::MAX);
            if wanted > self.max_output_bytes {
                notes.push(format!(
                    "max_output_kib = {kib} exceeds the operator's {} KiB; using that",
                    self.max_output_bytes >> 10
                ));
            } else {
                limits.max_output_bytes = wanted;
            }
        }
        if let Some(lines) = overrides.max_log_lines {
            if lines > self.max_log_lines {
                notes.push(format!(
                    "max_log_lines = {lines} exceeds the operator's {}; using that",
                    self.max_log_lines
                ));
            } else {
                limits.max_log_lines = lines;
            }
        }
        if let Some(n) = overrides.quarantine_after {
            if n > self.quarantine_after {
                notes.push(format!(
                    "quarantine_after = {n} exceeds the operator's {}; using that",
                    self.quarantine_after
                ));
            } else {
                limits.quarantine_after = n;
            }
        }
        if overrides.max_concurrent_calls_per_tenant.is_some() {
            notes.push(
                "max_concurrent_calls_per_tenant is the operator's setting (cam.toml's [limits]); ignored here".into(),
            );
        }
        (limits, notes)
    }
}

fn mib_to_bytes(mib: u64) -> usize {
    usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_can_only_lower_the_operator_maxima() {
        let max = Limits::default();
        let (limits, notes) = max.lowered_by(&LimitSettings {
            timeout_ms: Some(100),
            memory_mib: Some(100_000),
            max_output_kib: None,
            max_log_lines: Some(10),
            quarantine_after: None,
            max_concurrent_calls_per_tenant: None,
        });
        assert_eq!(limits.timeout, Duration::from_millis(100));
        assert_eq!(limits.memory_bytes, max.memory_bytes);
        assert_eq!(limits.max_log_lines, 10);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("memory_mib"), "{notes:?}");
    }
}
