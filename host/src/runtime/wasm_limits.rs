//! Every limit cam sets on wasmtime and WASI themselves, in one place, each
//! with the reason for its number. They are set explicitly rather than left
//! at wasmtime's defaults, so that an upgrade that changes a default cannot
//! loosen the sandbox silently. (The per-call limits a manifest may lower —
//! deadline, memory budget, output cap — are [`Limits`](super::Limits).)
//!
//! The per-component counts were measured with `scripts/component-census.py`
//! on the components cam runs (the table is in `docs/ARCHITECTURE.md`,
//! "Sandbox limits"): a Rust plugin built for `wasm32-wasip2` has 3 core
//! instances, 1 memory and 2 tables; componentize-js's `reply-keywords` 4,
//! 1 and 2; componentize-py's `title-enrich` 14, 1 and 2.

use wasmtime::component::ResourceTable;
use wasmtime::{PoolingAllocationConfig, Store};

/// Component instances in the pool: how many plugin calls can run at once
/// in one process (the runtime's call permits are as many, so a call waits
/// for a slot instead of failing to instantiate). A worker runs a few calls
/// per core.
pub const POOL_INSTANCES: u32 = 128;

/// Core instances one component may create. Measured: a Rust plugin has 3
/// (its module and the WASI adapter's two), a componentize-js one 4, a
/// componentize-py one 14 (CPython, libc and their glue, each a module);
/// each native extension a Python plugin bundles adds one. 24 leaves room
/// for those without letting one component take much of the pool's
/// [`POOL_CORE_INSTANCES`].
pub const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 24;

/// Linear memories one component may define. Measured: 1 in every example
/// plugin (Rust, JavaScript, Python): the adapter and the glue modules use
/// the main module's memory. 2 leaves room for a toolchain that gives its
/// glue a memory of its own. Each memory slot reserves address space (see
/// [`POOL_MEMORIES`]) and the per-call budget counts them all, so a
/// component gains nothing from more memories but would take pool slots
/// other tenants need.
pub const MAX_MEMORIES_PER_COMPONENT: u32 = 2;

/// Tables one component may define. Measured: 2 in every example plugin
/// (the main module's function table and the adapter's); 4 leaves room as
/// for memories.
pub const MAX_TABLES_PER_COMPONENT: u32 = 4;

/// Elements per table: a JavaScript engine or a Python interpreter has a
/// function table of tens of thousands of entries.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Bytes of one core instance's VM context: generous for big JS engine modules.
pub const MAX_CORE_INSTANCE_BYTES: usize = 8 << 20;

/// Core instances in the pool: every call holding a permit can create as
/// many as one component may, so concurrent calls of one tenant can never
/// leave another tenant's call without an instance slot.
pub const POOL_CORE_INSTANCES: u32 = POOL_INSTANCES * MAX_CORE_INSTANCES_PER_COMPONENT;

/// Memories in the pool, sized like [`POOL_CORE_INSTANCES`]. Each memory
/// slot reserves about 4 GiB of address space plus guard pages (which lets
/// wasmtime drop bounds checks), so 256 slots stay near 1.5 TiB of the
/// 128 TiB a process has, leaving room for several runtimes in one test
/// process. Only address space: pages are committed as a call touches them.
pub const POOL_MEMORIES: u32 = POOL_INSTANCES * MAX_MEMORIES_PER_COMPONENT;

/// Tables in the pool, sized like [`POOL_CORE_INSTANCES`].
pub const POOL_TABLES: u32 = POOL_INSTANCES * MAX_TABLES_PER_COMPONENT;

/// What one table element costs against a call's memory budget: a function
/// reference is a pointer.
pub const TABLE_ELEMENT_BYTES: usize = 8;

/// Host-call fuel: the most data a guest may pass to the host in one
/// transfer — an import call's arguments, or the result of the export the
/// host called — which bounds what the host allocates for it before any
/// check of cam's can look at it (wasmtime's default is 128 MiB). A call
/// gets the larger of this and its output cap ([`Limits::max_output_bytes`](super::Limits::max_output_bytes)),
/// so a result the output cap allows is never cut off here. 16 MiB equals
/// the default output and input caps; the largest real import argument is
/// an HTTP request (1 MiB body plus headers) or a kv value within its quota.
pub const HOSTCALL_FUEL: usize = 16 << 20;

/// Whether `error` is wasmtime refusing a transfer over the host-call fuel
/// ([`HOSTCALL_FUEL`]). wasmtime's error type for it is private, so this
/// reads its message; the hostile suite's huge-output case fails if an
/// upgrade rewords it.
pub fn is_hostcall_fuel_exhausted(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// Live component-model handles per call (wasmtime's default is 100,000).
/// cam's imports use no resources; WASI gives a plugin a handful (stdio
/// streams, pollables), and an interpreter a few dozen at most.
pub const MAX_COMPONENT_HANDLES: usize = 1_000;

/// Entries in the host's WASI resource table per call (wasmtime's default
/// is 1,000,000): the host side of the same handles.
pub const MAX_WASI_TABLE_ENTRIES: usize = 1_000;

/// Largest `get-random-bytes` request (WASI's default is 64 MiB, allocated
/// by the host). Seeding a generator or making an id takes tens of bytes;
/// 64 KiB is a generous buffer for a hash table's seed or a batch of ids.
pub const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// The pooling allocator's slots and per-component maxima. `memory_bytes`
/// is the operator's memory maximum: no single memory can be larger than
/// the whole budget of a call.
pub(crate) fn pooling_allocator(memory_bytes: usize) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_INSTANCES);
    pool.total_core_instances(POOL_CORE_INSTANCES);
    pool.total_memories(POOL_MEMORIES);
    pool.total_tables(POOL_TABLES);
    // One fiber stack per call: calls are async.
    pool.total_stacks(POOL_INSTANCES);
    pool.max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT);
    pool.max_memories_per_component(MAX_MEMORIES_PER_COMPONENT);
    pool.max_tables_per_component(MAX_TABLES_PER_COMPONENT);
    pool.table_elements(MAX_TABLE_ELEMENTS);
    pool.max_core_instance_size(MAX_CORE_INSTANCE_BYTES);
    pool.max_memory_size(memory_bytes);
    pool
}

/// The host-call fuel of a call whose output may be `max_output_bytes` long.
pub fn hostcall_fuel(max_output_bytes: usize) -> usize {
    HOSTCALL_FUEL.max(max_output_bytes)
}

/// The per-store limits of one call's `Store`, whose output may be
/// `max_output_bytes` long.
pub(crate) fn limit_store<T>(store: &mut Store<T>, max_output_bytes: usize) {
    store.set_hostcall_fuel(hostcall_fuel(max_output_bytes));
    store.set_max_component_handles(MAX_COMPONENT_HANDLES);
}

/// A WASI resource table capped at [`MAX_WASI_TABLE_ENTRIES`].
pub(crate) fn wasi_table() -> ResourceTable {
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_WASI_TABLE_ENTRIES);
    table
}
