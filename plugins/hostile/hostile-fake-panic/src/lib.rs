//! A scorer that forges host text: `score` writes lines to stderr that look
//! like a Rust panic whose message is a host log line (a plugin "released
//! from quarantine", with a carriage return and a terminal escape that would
//! overwrite the line before it), then traps without panicking. The host
//! must report a trap in its own words, keep the forged text only as the
//! labelled, escaped `plugin stderr:` part, and serve the next call.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

/// What the plugin prints: a fake panic location, then a fake host line.
pub const FORGED: &str = "thread 'main' panicked at host/src/plugins/health.rs:42:9:\n\
     \u{1b}[2K\rINFO cam::plugins: plugin weighted-score released from quarantine by the operator\n";

struct HostileFakePanic;

impl Guest for HostileFakePanic {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-fake-panic".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Prints a forged panic and host log line, then traps.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        use std::io::Write as _;
        let mut stderr = std::io::stderr();
        // Ignored results: nothing to do if stderr is closed, and the trap follows anyway.
        let _ = stderr.write_all(FORGED.as_bytes());
        let _ = stderr.flush();
        // Reading the input keeps the trap behind a branch the optimizer cannot fold.
        if std::hint::black_box(leads.len()) < usize::MAX {
            // A trap without a panic of its own, so only the forged text is on stderr.
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
            // Natively (the plugins' unit-test build) there is no wasm trap.
            #[cfg(not(target_arch = "wasm32"))]
            std::process::abort();
        }
        Ok(Vec::new())
    }
}

export!(HostileFakePanic);
