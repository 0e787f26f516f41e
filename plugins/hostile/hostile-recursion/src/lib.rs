//! A scorer whose `score` recurses without bound: each frame uses the callee's
//! result after the call returns and hides its values behind `black_box`, so
//! the optimizer can turn it neither into a loop nor into a tail call. It ends
//! in wasmtime's stack-overflow trap (the limit on the native stack that wasm
//! frames use, `Config::max_wasm_stack`). The host must record that trap as a
//! failure of this call only; the next call gets a fresh instance.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

use std::hint::black_box;

struct HostileRecursion;

/// Recurses until the stack runs out. The opaque stop condition never holds,
/// but it keeps rustc from rejecting the function as unconditional recursion.
/// Frames are kept small so that wasmtime's limit on the native stack, not the
/// guest's 1 MiB shadow stack in linear memory, is what runs out first.
#[inline(never)]
fn descend(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = descend(black_box(depth + 1));
    // Work after the call keeps it from being a tail call or a loop.
    black_box(below.wrapping_mul(31).wrapping_add(depth))
}

impl Guest for HostileRecursion {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-recursion".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Recurses without bound in score; it must end in a trap.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(_leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let depth = descend(0);
        Err(format!("unreachable: recursion returned at depth {depth}"))
    }
}

export!(HostileRecursion);
