//! A scorer whose `score` calls the `log` import 1,000,000 times, then returns
//! one ordinary score per lead. It is granted `log`, so every call is allowed;
//! the host must rate-limit: keep the first lines, count and drop the rest,
//! stay responsive while it does, and let the call succeed (unless the flood
//! outlasts the call's deadline, which must then end it like any timeout).

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

use cam::plugin::log::{Level, log};
use cam::plugin::types::Capability;

/// How many lines the flood sends.
const LINES: u32 = 1_000_000;

struct HostileLogFlood;

impl Guest for HostileLogFlood {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-log-flood".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Logs a million lines in score; the host must rate-limit them.".to_string(),
            needs: vec![Capability::Log],
        }
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        for line in 0..LINES {
            log(Level::Info, &format!("flood line {line}"), &[]);
        }
        Ok(leads
            .iter()
            .map(|_| Score {
                value: 0.5,
                reasons: vec![format!("logged {LINES} lines")],
            })
            .collect())
    }
}

export!(HostileLogFlood);
