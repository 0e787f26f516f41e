//! A scorer whose `score` panics. Rust on `wasm32-wasip2` aborts on panic: the
//! message goes to the guest's stderr and the call ends in an `unreachable`
//! trap. The host must record a trap (the panic text when it captures stderr)
//! for this call, not crash, and give the next call a fresh instance.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

/// The panic message, so tests can look for it in what the host captured.
const PANIC_MESSAGE: &str = "hostile-panic: deliberate panic in score";

struct HostilePanic;

impl Guest for HostilePanic {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-panic".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Panics in score; the host must record a trap.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        // Reading the input keeps the panic behind a branch the optimizer cannot fold.
        if std::hint::black_box(leads.len()) < usize::MAX {
            panic!("{PANIC_MESSAGE}");
        }
        Ok(Vec::new())
    }
}

export!(HostilePanic);
