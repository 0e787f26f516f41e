//! End-to-end tests: real compiled WASM components through the real runtime,
//! and the `cam` binary driven as a user would.
//!
//! One test binary for the whole crate (see `host/Cargo.toml`); modules:
//! - `support`: locating built plugins, temp dirs, throwaway databases, local HTTP servers;
//! - `retag`: a component with a new sha256 and the same behaviour (shared with the reload bench);
//! - `hostile`: every hostile plugin costs only its own call;
//! - `example_plugins`: the example plugins (Rust, JavaScript, Python) through the host;
//! - `host_imports`: `kv` and `clock` through the real store;
//! - `cli_plugins`: `cam plugins check` / `cam plugins list` as a user runs them;
//! - `cli_scaffold`: `cam plugins new` in Rust, JavaScript and Python, and `cam plugins wit`;
//! - `cli_setup`: `cam init`, `cam migrate`, `cam campaigns ...`;
//! - `cli_import`: `cam import` on SQLite and PostgreSQL, hostile files included;
//! - `hot_reload`: swaps under load, half-written files, rollback, cache, shadow, fleet;
//! - `worker_reload`: a rule swapped under a running `cam run`;
//! - `cycle`: `cam cycle` and `cam demo` through several cycles: lead states, outbox, replies, alerts, decisions;
//! - `bounce_corpus`: bounce, complaint and auto-reply recognition over 122 real messages;
//! - `live_mail`: live campaigns over real SMTP (aiosmtpd) and IMAP (Dovecot), faults, `cam serve`;
//! - `live_mail_tls`: the same over STARTTLS and implicit TLS with a throwaway CA;
//! - `mail_servers`: starting those servers (one file each) and a connection-cutting proxy;
//! - `api`: the REST API of `cam serve` with tenants and tokens from the CLI: isolation, roles, problems;
//! - `api_leads`: the API's work routes: CSV upload, leads, replies, suppressions, daily metrics, campaign updates;
//! - `tenancy`: `cam tenants` and a worker that runs only its own tenant's campaigns;
//! - `hosted`: hosted tenants' sealed settings, key rotation, and one worker running every tenant with its own mail, plugins, kv, ceilings and alerts.

mod api;
mod api_leads;
mod bounce_corpus;
mod cli_import;
mod cli_plugins;
mod cli_scaffold;
mod cli_setup;
mod cycle;
mod example_plugins;
mod host_imports;
mod hosted;
mod hostile;
mod hot_reload;
mod live_mail;
mod live_mail_tls;
mod mail_servers;
mod retag;
mod support;
mod tenancy;
mod worker_reload;
