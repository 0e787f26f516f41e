//! The host side of every `cam:plugin` import. Each checks its grant inside
//! the call: `kv` and `http` answer a denied call with an error value, the
//! others (which have no error type) trap with `capability-denied`.

pub mod clock;
pub mod config;
pub mod http;
pub mod kv;
pub mod log;

impl super::bindings::types::Host for super::state::PluginState {}
