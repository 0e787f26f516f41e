//! A scorer that reports what WASI gives it, without any cam import: the
//! wall clock (`SystemTime::now`, nanoseconds since the epoch), how far
//! the monotonic clock moved between two reads (`Instant`), and a value
//! hashed with a `RandomState` (whose keys come from WASI's random). The
//! host's tests call it twice with the same cycle time and expect the same
//! reasons, and the wall clock at the cycle's time.

use std::hash::BuildHasher as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

struct WasiProbe;

impl Guest for WasiProbe {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "wasi-probe".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Reports WASI's clocks and random as reasons.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos();
        let started = Instant::now();
        let elapsed = started.elapsed().as_nanos();
        let random = std::collections::hash_map::RandomState::new().hash_one("cam");
        let reasons = vec![
            format!("wall={wall}"),
            format!("monotonic={elapsed}"),
            format!("random={random:016x}"),
        ];
        Ok(leads
            .iter()
            .map(|_| Score {
                value: 0.5,
                reasons: reasons.clone(),
            })
            .collect())
    }
}

export!(WasiProbe);
