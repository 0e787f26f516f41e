//! A scorer whose `score` never returns: it spins in a loop that makes no
//! host calls and touches no memory, so nothing but the host's wall-clock
//! deadline (epoch interruption) can stop it. The host must interrupt the call
//! when its deadline passes, record a timeout for this plugin, and keep serving
//! every other plugin and tenant on the same worker.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

struct HostileLoop;

impl Guest for HostileLoop {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-loop".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Spins forever in score; the host's deadline must stop it.".to_string(),
            needs: Vec::new(),
        }
    }

    fn score(_leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let mut spins: u64 = 0;
        loop {
            // black_box keeps the optimizer from proving the loop has no effect.
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

export!(HostileLoop);
