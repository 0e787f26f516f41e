//! What a plugin's `Store` holds during one call: its identity and grants,
//! the sandboxed WASI context, the memory limiter and the call's counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::imports::kv::KvBackend;
use super::limits::Limits;
use crate::plugins::manifest::Grants;

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
    /// The HTTP client the `http` import uses (shared; it pools connections).
    pub http: reqwest::Client,
}

impl std::fmt::Debug for CallScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallScope")
            .field("tenant", &self.tenant)
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

/// Enforces the memory cap and remembers whether the plugin hit it, so a
/// resulting trap can be reported as `memory-limit` rather than a plain trap.
#[derive(Debug)]
pub struct CallLimiter {
    memory_bytes: usize,
    /// Set when a memory grow was refused.
    pub memory_denied: bool,
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far past any real plugin.
        Ok(desired <= 1_000_000)
    }
}

/// Counters a call accumulates, reported once it ends.
#[derive(Debug, Default, Clone, Copy)]
pub struct CallCounters {
    /// Log lines emitted.
    pub log_lines: u32,
    /// Log lines dropped by the rate limit.
    pub log_dropped: u64,
    /// HTTP requests refused by the allow-list.
    pub http_denied: u32,
    /// HTTP requests made.
    pub http_requests: u32,
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
    /// A fresh state for one call. The WASI context grants nothing: no files,
    /// no environment, no arguments, no sockets; stdout is discarded and
    /// stderr captured (for panic messages).
    pub(crate) fn new(identity: Arc<PluginIdentity>, scope: CallScope) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(MemoryOutputPipe::new(STDERR_CAPTURE_BYTES))
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = identity.limits;
        PluginState {
            limiter: CallLimiter {
                memory_bytes: limits.memory_bytes,
                memory_denied: false,
            },
            deadline: tokio::time::Instant::now() + limits.timeout,
            identity,
            scope,
            counters: CallCounters::default(),
            wasi,
            table: ResourceTable::new(),
            stderr,
        }
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
