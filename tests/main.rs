//! End-to-end tests: real compiled WASM components through the real runtime,
//! and the `cam` binary driven as a user would.
//!
//! One test binary for the whole crate (see `host/Cargo.toml`); modules:
//! - `support`: locating built plugins, temp dirs, local HTTP servers;
//! - `hostile`: every hostile plugin costs only its own call;
//! - `example_plugins`: the example plugins' real logic through the host;
//! - `cli_plugins`: `cam plugins check` / `cam plugins list` as a user runs them;
//! - `cli_scaffold`: `cam plugins new` in Rust, JavaScript and Python, and `cam plugins wit`;
//! - `cli_setup`: `cam init`, `cam migrate`, `cam campaigns ...`;
//! - `hot_reload`: swaps under load, half-written files, rollback, cache, shadow, fleet;
//! - `cli_import`: `cam import` on SQLite and PostgreSQL, hostile files included;
//! - `cycle`: `cam cycle` through several cycles: lead states, outbox, replies, alerts, decisions;
//! - `live_mail`: live campaigns over real SMTP (aiosmtpd) and IMAP (Dovecot), faults, `cam serve`;
//! - `mail_servers`: starting those servers (and a connection-cutting proxy) for the tests.

mod bounce_corpus;
mod cli_import;
mod cli_plugins;
mod cli_scaffold;
mod cli_setup;
mod cycle;
mod example_plugins;
mod host_imports;
mod hostile;
mod hot_reload;
mod live_mail;
mod live_mail_tls;
mod mail_servers;
mod retag;
mod support;
mod worker_reload;
