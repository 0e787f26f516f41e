//! The WASI a plugin gets, built fresh for every call: no environment, no
//! arguments, no files, no sockets or name lookups; stdout discarded and
//! stderr kept (a few KiB, to explain a trap); and clocks and random that
//! come from the call's scope instead of the machine, so a cycle replayed at
//! the same `--now` gives a plugin the same time and the same random bytes.
//!
//! - **Wall clock**: the cycle's time (`CallScope::now_ms`), advanced by
//!   [`CLOCK_TICK`] at every read, so two reads differ (a plugin timing
//!   itself sees a tiny, deterministic duration) and the sequence depends
//!   only on how often the plugin reads it.
//! - **Monotonic clock**: counts from zero in the same ticks. Waiting on it
//!   (`subscribe-duration`) still waits for real, under the call's deadline.
//! - **Random** (`wasi:random/random`, `insecure`, `insecure-seed`): a
//!   ChaCha generator seeded from the cycle's time, the tenant and the
//!   plugin's name and version. Not secret: a plugin must not make keys
//!   with it.

use std::cell::Cell;
use std::time::Duration;

use rand_wasi::SeedableRng as _;
use sha2::{Digest, Sha256};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx};

use super::wasm_limits;

/// How far either clock moves at each read.
pub const CLOCK_TICK: Duration = Duration::from_micros(1);

/// Whose call a WASI context is for: what its clocks and random follow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallOrigin<'a> {
    /// The cycle's time, in unix milliseconds.
    pub now_ms: i64,
    /// The calling tenant.
    pub tenant: &'a str,
    /// The plugin's name.
    pub plugin: &'a str,
    /// The plugin's version.
    pub version: &'a str,
}

/// The WASI context of one call; `stderr` receives what the plugin writes there.
pub(crate) fn wasi_ctx(origin: CallOrigin<'_>, stderr: MemoryOutputPipe) -> WasiCtx {
    let seed = seed(origin);
    let mut insecure_seed = [0; 16];
    insecure_seed.copy_from_slice(&seed[16..]);
    WasiCtx::builder()
        .stdout(MemoryOutputPipe::new(STDOUT_CAPTURE_BYTES))
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .max_random_size(wasm_limits::MAX_RANDOM_BYTES)
        .wall_clock(CycleWallClock {
            start: Duration::from_millis(u64::try_from(origin.now_ms).unwrap_or(0)),
            reads: Cell::new(0),
        })
        .monotonic_clock(CycleMonotonicClock { reads: Cell::new(0) })
        .secure_random(rand_wasi::rngs::StdRng::from_seed(seed))
        .insecure_random(rand_wasi::rngs::StdRng::from_seed(label(seed, b"insecure")))
        .insecure_random_seed(u128::from_le_bytes(insecure_seed))
        .build()
}

/// Bytes of stdout buffered (and thrown away) per call.
const STDOUT_CAPTURE_BYTES: usize = 8 * 1024;

/// The call's random seed: the cycle's time, the tenant, the plugin and its version.
fn seed(origin: CallOrigin<'_>) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"cam wasi random v1\0");
    hash.update(origin.now_ms.to_le_bytes());
    for part in [origin.tenant, origin.plugin, origin.version] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// Another seed derived from `seed`, for a second generator.
fn label(seed: [u8; 32], name: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(seed);
    hash.update(name);
    hash.finalize().into()
}

/// The cycle's time, one [`CLOCK_TICK`] later at each read.
struct CycleWallClock {
    start: Duration,
    reads: Cell<u32>,
}

impl HostWallClock for CycleWallClock {
    fn resolution(&self) -> Duration {
        CLOCK_TICK
    }

    fn now(&self) -> Duration {
        let reads = self.reads.get();
        self.reads.set(reads.saturating_add(1));
        self.start + CLOCK_TICK * reads
    }
}

/// Nanoseconds since the call began, one [`CLOCK_TICK`] more at each read.
struct CycleMonotonicClock {
    reads: Cell<u64>,
}

impl HostMonotonicClock for CycleMonotonicClock {
    fn resolution(&self) -> u64 {
        CLOCK_TICK.as_nanos() as u64
    }

    fn now(&self) -> u64 {
        let reads = self.reads.get();
        self.reads.set(reads.saturating_add(1));
        reads.saturating_mul(CLOCK_TICK.as_nanos() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clocks_start_at_the_cycle_and_move_one_tick_per_read() {
        let wall = CycleWallClock {
            start: Duration::from_secs(1_767_225_600),
            reads: Cell::new(0),
        };
        assert_eq!(wall.now(), Duration::from_secs(1_767_225_600));
        assert_eq!(wall.now(), Duration::from_secs(1_767_225_600) + CLOCK_TICK);
        let mono = CycleMonotonicClock { reads: Cell::new(0) };
        assert_eq!((mono.now(), mono.now()), (0, 1_000));
    }
}
