//! `clock`: the cycle's time, so a cycle can be replayed.

use crate::runtime::bindings::clock;
use crate::runtime::bindings::types::Capability;
use crate::runtime::state::PluginState;

impl clock::Host for PluginState {
    fn now(&mut self) -> wasmtime::Result<i64> {
        // Ungranted in audit mode: the scope's time all the same.
        self.use_capability(Capability::Clock, self.identity.grants.clock)?;
        Ok(self.scope.now_ms)
    }
}
