//! A scorer whose `score` returns a single score with one reason 100 MiB long.
//! The guest itself succeeds; the danger is in lifting the result into the
//! host. The host must enforce its cap on data crossing the boundary (or its
//! memory cap, if the guest cannot even build the string) and fail this call
//! with an output-too-large error instead of copying 100 MiB into its heap.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

/// 100 MiB: far above any sane cap on a call's output.
const REASON_BYTES: usize = 100 * 1024 * 1024;

struct HostileHugeOutput;

impl Guest for HostileHugeOutput {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-huge-output".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Returns a 100 MiB reason from score; the host must refuse it.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(_leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        Ok(vec![Score {
            value: 0.5,
            reasons: vec!["x".repeat(REASON_BYTES)],
        }])
    }
}

export!(HostileHugeOutput);
