//! A scorer whose `score` allocates without bound: it keeps pushing 1 MiB
//! buffers, each written to so the pages are really used, into a growing Vec
//! until an allocation fails. When the host's memory cap refuses `memory.grow`
//! the Rust allocator aborts, which the host sees as a trap. The host must cap
//! each instance's linear memory, turn the failed growth into a recorded
//! out-of-memory failure for this call, and stay well below its own limits.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

/// Size of one buffer: big enough to reach any cap in a few hundred steps.
const CHUNK_BYTES: usize = 1024 * 1024;

struct HostileMemory;

impl Guest for HostileMemory {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-memory".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Allocates without bound in score; the host's memory cap must stop it.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(_leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // A non-zero fill writes every page, so none of them stays untouched.
            hoard.push(vec![0xA5; CHUNK_BYTES]);
            // black_box stops the optimizer from eliding allocations nobody reads.
            std::hint::black_box(&mut hoard);
        }
    }
}

export!(HostileMemory);
