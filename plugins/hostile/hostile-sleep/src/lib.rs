//! A scorer whose `score` sleeps for 60 seconds with `std::thread::sleep`,
//! which on `wasm32-wasip2` blocks in `wasi:io/poll` on a
//! `wasi:clocks/monotonic-clock` pollable. The guest executes no wasm while it
//! waits, so epoch interruption alone cannot stop it: the host must run calls
//! asynchronously and bound them with its wall-clock deadline (e.g. a tokio
//! timeout around the call), then record a timeout for this call.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

use std::time::Duration;

/// Far longer than any call deadline the host should allow.
const NAP: Duration = Duration::from_secs(60);

struct HostileSleep;

impl Guest for HostileSleep {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-sleep".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Sleeps 60 s in score; the host's deadline must cut it off.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        std::thread::sleep(NAP);
        Ok(leads
            .iter()
            .map(|_| Score {
                value: 0.5,
                reasons: vec!["woke up after 60 s".to_string()],
            })
            .collect())
    }
}

export!(HostileSleep);
