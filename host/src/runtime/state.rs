//! What a plugin's `Store` holds during one call: its identity and grants,
//! the sandboxed WASI context, the memory limiter and the call's counters,
//! and the audit mode `cam plugins check` runs calls in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::wasi_env;

use super::bindings::types::Capability;
use super::error::CapabilityDenied;
use super::grants::Grants;
use super::kv_backend::KvBackend;
use super::limits::Limits;
use super::wasm_limits;

/// Bytes of a plugin's stderr kept per call: enough for a panic message.
const STDERR_CAPTURE_BYTES: usize = 8 * 1024;

/// Who a plugin is, what it may do and with which settings; shared by every
/// call to one loaded version.
#[derive(Debug)]
pub struct PluginIdentity {
    /// The plugin's name.
    pub name: String,
    /// Its version: the first 12 hex digits of the component's sha256.
    pub version: String,
    /// Granted capabilities.
    pub grants: Grants,
    /// Config values for the `config` import.
    pub config: BTreeMap<String, String>,
    /// Effective limits for its calls.
    pub limits: Limits,
    /// The client its `http` requests go through, built for its allow-list
    /// (`net_policy`: every resolved address is checked); `None` without
    /// the `http` grant.
    pub http_client: Option<reqwest::Client>,
}

/// The per-call context supplied by the caller: which tenant, which clock,
/// where kv data lives.
#[derive(Clone)]
pub struct CallScope {
    /// The tenant the call runs for; kv data and logs are tagged with it.
    pub tenant: String,
    /// The cycle's clock, in unix milliseconds, returned by the `clock` import.
    pub now_ms: i64,
    /// Where the `kv` import keeps data; `None` makes kv calls fail with a storage error.
    pub kv: Option<Arc<dyn KvBackend>>,
    /// The runtime's shared HTTP client, for host-side requests. A plugin's
    /// own requests go through its version's client instead
    /// ([`PluginIdentity::http_client`]), whose resolver checks addresses.
    pub http: reqwest::Client,
    /// `Some` runs the call in audit mode (`cam plugins check` only): every
    /// host import a call uses is recorded here, and an import the manifest
    /// does not grant is recorded and answered with a harmless value instead
    /// of failing the call. `None` (every other call): an ungranted import
    /// is `capability-denied`, as always.
    pub audit: Option<Arc<CallAudit>>,
    /// The tenant's ceilings, applied when a version is loaded with this
    /// scope (see [`TenantCeiling`](super::limits::TenantCeiling)).
    pub ceiling: super::limits::TenantCeiling,
}

impl CallScope {
    /// This scope in audit mode, with a fresh record (see [`CallScope::audit`]).
    pub fn audited(mut self) -> CallScope {
        self.audit = Some(Arc::new(CallAudit::default()));
        self
    }

    /// This scope with the tenant's ceilings.
    pub fn with_ceiling(mut self, ceiling: super::limits::TenantCeiling) -> CallScope {
        self.ceiling = ceiling;
        self
    }
}

impl std::fmt::Debug for CallScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallScope")
            .field("tenant", &self.tenant)
            .field("now_ms", &self.now_ms)
            .field("audit", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

/// Enforces the call's memory budget and remembers whether the plugin hit
/// it, so a resulting trap can be reported as `memory-limit` rather than a
/// plain trap. The budget (the manifest's `memory_mib`, at most the
/// operator's) covers the whole call: every linear memory and every table
/// of every core instance in the call's store, summed, as this limiter sees
/// them created and grown. It also bounds how many instances, memories and
/// tables the store may hold (see [`wasm_limits`]) and keeps the call's
/// memory high-water mark.
#[derive(Debug)]
pub struct CallLimiter {
    budget_bytes: usize,
    /// Set when a memory or table growth was refused for the budget.
    pub memory_denied: bool,
    /// The largest size any one linear memory of the call reached.
    pub largest_memory_bytes: usize,
    /// The call's total linear memory at its peak: every allowed growth
    /// (instantiation's initial sizes included) summed over all memories,
    /// which never shrink during a call.
    pub total_memory_bytes: usize,
    /// The call's tables, at [`wasm_limits::TABLE_ELEMENT_BYTES`] per element.
    pub table_bytes: usize,
}

impl CallLimiter {
    /// A limiter for a call whose memories and tables may take `budget_bytes` in all.
    pub fn new(budget_bytes: usize) -> Self {
        CallLimiter {
            budget_bytes,
            memory_denied: false,
            largest_memory_bytes: 0,
            total_memory_bytes: 0,
            table_bytes: 0,
        }
    }

    /// Whether `more` bytes still fit in the budget.
    fn fits(&self, more: usize) -> bool {
        self.total_memory_bytes
            .saturating_add(self.table_bytes)
            .saturating_add(more)
            <= self.budget_bytes
    }
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let more = desired.saturating_sub(current);
        if !self.fits(more) {
            self.memory_denied = true;
            return Ok(false);
        }
        self.largest_memory_bytes = self.largest_memory_bytes.max(desired);
        self.total_memory_bytes += more;
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > wasm_limits::MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        let more = desired
            .saturating_sub(current)
            .saturating_mul(wasm_limits::TABLE_ELEMENT_BYTES);
        if !self.fits(more) {
            self.memory_denied = true;
            return Ok(false);
        }
        self.table_bytes += more;
        Ok(true)
    }

    fn instances(&self) -> usize {
        wasm_limits::MAX_CORE_INSTANCES_PER_COMPONENT as usize
    }

    fn memories(&self) -> usize {
        wasm_limits::MAX_MEMORIES_PER_COMPONENT as usize
    }

    fn tables(&self) -> usize {
        wasm_limits::MAX_TABLES_PER_COMPONENT as usize
    }
}

/// A set of host capabilities.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    /// Every capability, in the order of the WIT `capability` enum.
    pub const ALL: [Capability; 5] = Capability::ALL;

    fn bit(capability: Capability) -> u8 {
        1 << (capability as u8)
    }

    /// Adds `capability`.
    pub fn insert(&mut self, capability: Capability) {
        self.0 |= Self::bit(capability);
    }

    /// Whether `capability` is in the set.
    pub fn contains(self, capability: Capability) -> bool {
        self.0 & Self::bit(capability) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in the order of [`CapabilitySet::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Self::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// Both sets together.
    pub fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }
}

/// Counters a call accumulates, reported once it ends.
#[derive(Debug, Default, Clone, Copy)]
pub struct CallCounters {
    /// Host capabilities the call used, granted or not.
    pub used: CapabilitySet,
    /// Host capabilities the call used that its manifest does not grant.
    pub denied: CapabilitySet,
    /// Log lines emitted.
    pub log_lines: u32,
    /// Log lines dropped by the rate limit.
    pub log_dropped: u64,
    /// HTTP requests refused by the allow-list.
    pub http_denied: u32,
    /// HTTP requests made.
    pub http_requests: u32,
}

/// Most log lines an audited call keeps for the report.
const AUDIT_LOG_LINES: usize = 20;
/// Most HTTP targets an audited call keeps for the report.
const AUDIT_HTTP_TARGETS: usize = 20;

/// What an audited call did (see [`CallScope::audit`]); filled in while it
/// runs and when it ends, read by `cam plugins check`.
#[derive(Debug, Default)]
pub struct CallAudit {
    record: Mutex<AuditRecord>,
}

/// The contents of a [`CallAudit`].
#[derive(Debug, Default, Clone)]
pub struct AuditRecord {
    /// Whether the call ran to its end (successfully or not).
    pub finished: bool,
    /// The counters at the end of the call: capabilities used and used
    /// without a grant, log lines, HTTP requests.
    pub counters: CallCounters,
    /// Wall time of the call, instantiation included.
    pub elapsed: Duration,
    /// The largest size one linear memory reached.
    pub largest_memory_bytes: usize,
    /// All linear memory of the call at its peak.
    pub total_memory_bytes: usize,
    /// The first log lines, `LEVEL message fields`; ungranted ones marked.
    pub log_lines: Vec<String>,
    /// Hosts (`host` or `host:port`) the call sent HTTP requests to.
    pub http_targets: Vec<String>,
    /// Hosts the call was refused because the manifest's allow-list (or a
    /// missing `http` grant) does not let it reach them.
    pub http_refused: Vec<String>,
}

impl CallAudit {
    /// A copy of what was recorded so far.
    pub fn record(&self) -> AuditRecord {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuditRecord> {
        self.record.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn log_line(&self, line: String) {
        let mut record = self.lock();
        if record.log_lines.len() < AUDIT_LOG_LINES {
            record.log_lines.push(line);
        }
    }

    pub(crate) fn http_target(&self, target: String, refused: bool) {
        let mut record = self.lock();
        let list = if refused {
            &mut record.http_refused
        } else {
            &mut record.http_targets
        };
        if list.len() < AUDIT_HTTP_TARGETS && !list.contains(&target) {
            list.push(target);
        }
    }

    pub(crate) fn finish(&self, state: &PluginState, elapsed: Duration) {
        let mut record = self.lock();
        record.finished = true;
        record.counters = state.counters;
        record.elapsed = elapsed;
        record.largest_memory_bytes = state.limiter.largest_memory_bytes;
        record.total_memory_bytes = state.limiter.total_memory_bytes;
    }
}

/// The data of a plugin's `Store` for one call.
pub struct PluginState {
    pub(crate) identity: Arc<PluginIdentity>,
    pub(crate) scope: CallScope,
    pub(crate) limiter: CallLimiter,
    pub(crate) counters: CallCounters,
    /// The call's deadline, for host imports that wait (HTTP).
    pub(crate) deadline: tokio::time::Instant,
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
}

impl PluginState {
    /// A fresh state for one call. The WASI context ([`wasi_env`]) grants
    /// nothing: no files, no environment, no arguments, no sockets; stdout
    /// is discarded and stderr captured (for panic messages); clocks and
    /// random come from the scope.
    pub(crate) fn new(identity: Arc<PluginIdentity>, scope: CallScope) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let origin = wasi_env::CallOrigin {
            now_ms: scope.now_ms,
            tenant: &scope.tenant,
            plugin: &identity.name,
            version: &identity.version,
        };
        let wasi = wasi_env::wasi_ctx(origin, stderr.clone());
        let limits = identity.limits;
        PluginState {
            limiter: CallLimiter::new(limits.memory_bytes),
            deadline: tokio::time::Instant::now() + limits.timeout,
            identity,
            scope,
            counters: CallCounters::default(),
            wasi,
            table: wasm_limits::wasi_table(),
            stderr,
        }
    }

    /// Records that the call uses `capability` and whether `granted`.
    /// `Ok(true)`: go on. Ungranted: `Ok(false)` in audit mode (the import
    /// answers harmlessly), else the `capability-denied` trap. Only for the
    /// imports without an error value (`log`, `config`, `clock`).
    pub(crate) fn use_capability(&mut self, capability: Capability, granted: bool) -> wasmtime::Result<bool> {
        self.counters.used.insert(capability);
        if granted {
            return Ok(true);
        }
        self.counters.denied.insert(capability);
        if self.scope.audit.is_some() {
            return Ok(false);
        }
        Err(CapabilityDenied(capability.name()).into())
    }

    /// What the plugin wrote to stderr, lossily decoded.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).trim().to_string()
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_memory_and_table_of_a_call_counts_against_one_budget() {
        use wasmtime::ResourceLimiter as _;
        let mut limiter = CallLimiter::new(10 << 20);
        assert!(limiter.memory_growing(0, 4 << 20, None).unwrap());
        assert!(limiter.memory_growing(0, 4 << 20, None).unwrap());
        assert!(
            !limiter.memory_growing(4 << 20, 7 << 20, None).unwrap(),
            "4 + 7 MiB is over the call's 10, though each memory is under it"
        );
        assert!(limiter.memory_denied);
        assert_eq!(limiter.total_memory_bytes, 8 << 20);
        let elements = (2 << 20) / wasm_limits::TABLE_ELEMENT_BYTES;
        assert!(!limiter.table_growing(0, elements, None).unwrap(), "tables count too");
        assert!(limiter.table_growing(0, 1_000, None).unwrap());
        assert_eq!(limiter.table_bytes, 1_000 * wasm_limits::TABLE_ELEMENT_BYTES);
    }

    #[test]
    fn a_capability_set_lists_its_members_in_wit_order() {
        let mut set = CapabilitySet::default();
        assert!(set.is_empty());
        set.insert(Capability::Clock);
        set.insert(Capability::Log);
        assert_eq!(set.iter().collect::<Vec<_>>(), [Capability::Log, Capability::Clock]);
        assert!(set.contains(Capability::Clock) && !set.contains(Capability::Kv));
    }
}
