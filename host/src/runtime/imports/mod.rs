//! The host side of every `cam:plugin` import. Each checks its grant inside
//! the call: `kv` and `http` answer a denied call with an error value, the
//! others (which have no error type) trap with `capability-denied`. Each
//! records in the call's counters that it was used, and whether without a
//! grant. In audit mode (`cam plugins check`, see
//! [`CallScope::audit`](crate::runtime::CallScope::audit)) the trapping ones
//! answer harmlessly instead: `log` drops the line, `config` has no value,
//! `clock` gives the scope's time.

pub mod clock;
pub mod config;
pub mod http;
pub mod kv;
pub mod log;

impl super::bindings::types::Host for super::state::PluginState {}
