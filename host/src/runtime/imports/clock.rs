//! `clock`: the cycle's time, so a cycle can be replayed.

use crate::runtime::bindings::clock;
use crate::runtime::error::CapabilityDenied;
use crate::runtime::state::PluginState;

impl clock::Host for PluginState {
    fn now(&mut self) -> wasmtime::Result<i64> {
        if !self.identity.grants.clock {
            return Err(CapabilityDenied("clock").into());
        }
        Ok(self.scope.now_ms)
    }
}
