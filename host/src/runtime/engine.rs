//! The one wasmtime `Engine` per process, its linker, and the epoch ticker
//! that enforces call deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy};

use super::bindings;
use super::call_gate::CallGate;
use super::kv_backend::KvBackend;
use super::limits::{Limits, MAX_WASM_STACK};
use super::state::{CallScope, PluginState};
use super::wasm_limits::{self, POOL_INSTANCES};

/// How often the epoch advances. Deadlines are rounded up to this; 5 ms keeps
/// the ticker's cost negligible and a deadline overshoot small.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The wasm runtime of one process: engine, linker and limits.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: Limits,
    http: reqwest::Client,
    ticker_stop: Arc<AtomicBool>,
    calls: Arc<CallGate>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with the given operator maxima.
    pub fn new(limits: Limits) -> anyhow::Result<Runtime> {
        let engine =
            Engine::new(&engine_config(&limits)).map_err(|e| anyhow::anyhow!("creating the wasm engine: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e:#}"))?;
        bindings::HostImports::add_to_linker::<_, wasmtime::component::HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking the cam:plugin imports: {e:#}"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cam/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("creating the HTTP client")?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone())?;
        let calls = Arc::new(CallGate::new(
            POOL_INSTANCES as usize,
            limits.max_concurrent_calls_per_tenant,
        ));
        Ok(Runtime {
            engine,
            linker,
            limits,
            http,
            ticker_stop,
            calls,
        })
    }

    /// The engine (for compiling components).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker with WASI and every `cam:plugin` import.
    pub fn linker(&self) -> &Linker<PluginState> {
        &self.linker
    }

    /// The operator's maxima.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The HTTP client used for plugins' requests (redirects are followed by
    /// the host import itself, so each hop is checked).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// One permit per pool slot, at most `max_concurrent_calls_per_tenant`
    /// of them per tenant: a call waits for a free slot instead of failing
    /// to instantiate when every slot is busy, and one tenant cannot hold
    /// every slot.
    pub(crate) fn calls(&self) -> Arc<CallGate> {
        self.calls.clone()
    }

    /// A call scope for `tenant` at the current time, with kv data in `kv`.
    pub fn scope(&self, tenant: &str, kv: Option<Arc<dyn KvBackend>>) -> CallScope {
        CallScope {
            tenant: tenant.to_string(),
            now_ms: chrono::Utc::now().timestamp_millis(),
            kv,
            http: self.http.clone(),
            audit: None,
            ceiling: Default::default(),
        }
    }

    /// Deadline of a call in epoch ticks.
    pub(crate) fn ticks_for(timeout: Duration) -> u64 {
        (timeout.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Bytes of each linear memory a slot keeps resident between calls (only
/// the pages a call dirtied are restored, see [`engine_config`]): enough
/// for a Rust guest's 1 MiB stack plus its data and first heap pages. At
/// most `POOL_INSTANCES` times this stays resident when every slot has
/// been busy at once.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;
/// The same for tables (a few KiB in practice).
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 << 10;

fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // We do not use component-model async; turning its bookkeeping off makes
    // every call cheaper.
    config.concurrency_support(false);
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    let mut pool = wasm_limits::pooling_allocator(limits.memory_bytes);
    // Reset slots by scanning for the pages a call dirtied (PAGEMAP_SCAN,
    // Linux 6.7+) and restoring only those, instead of madvise: no TLB
    // shootdown and no page faults on the next call. Elsewhere wasmtime
    // falls back to madvise.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
    pool.table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a plain thread, so
/// deadlines fire even when every tokio worker is busy.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let weak = engine.weak();
    drop(engine);
    std::thread::Builder::new()
        .name("cam-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .context("starting the epoch ticker")?;
    Ok(())
}
