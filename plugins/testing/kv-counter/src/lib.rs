//! `kv-counter`: a scorer used by the host's tests of the `kv` and `clock`
//! imports. Each call increments a counter kept in kv (so it is per tenant)
//! and reports it, the clock's time, and what happened when it tried to write
//! a value larger than its quota, as the reasons of the first score.

use cam_plugin_sdk::{Capability, Lead, PluginInfo, Score, Scorer, clock, kv};

/// The plugin.
pub struct KvCounter;

impl Scorer for KvCounter {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Counts its calls in kv (test plugin)",
            &[Capability::Kv, Capability::Clock],
        )
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let count = match kv::get("calls").map_err(|e| format!("kv get: {e:?}"))? {
            Some(bytes) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0) + 1,
            None => 1,
        };
        kv::set("calls", count.to_string().as_bytes()).map_err(|e| format!("kv set: {e:?}"))?;
        let oversized = match kv::set("big", &vec![b'x'; 1 << 20]) {
            Ok(()) => "oversized write accepted".to_string(),
            Err(e) => format!("oversized write refused: {e:?}"),
        };
        let reasons = vec![format!("calls={count}"), format!("now={}", clock::now()), oversized];
        Ok(leads.iter().map(|_| Score::new(0.5, reasons.clone())).collect())
    }
}

cam_plugin_sdk::export_scorer!(KvCounter);
