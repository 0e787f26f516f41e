//! End-to-end tests: real compiled WASM components through the real runtime,
//! and the `cam` binary driven as a user would.
//!
//! One test binary for the whole crate (see `host/Cargo.toml`); modules:
//! - `support`: locating built plugins, temp dirs, local HTTP servers;
//! - `hostile`: every hostile plugin costs only its own call;
//! - `example_plugins`: the example plugins' real logic through the host;
//! - `cli_plugins`: `cam plugins check` / `cam plugins new` as a user runs them.

mod cli_plugins;
mod example_plugins;
mod hostile;
mod support;
