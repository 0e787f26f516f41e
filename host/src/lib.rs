//! cam: a client-acquisition engine whose business logic runs as sandboxed
//! WebAssembly components.
//!
//! Data flows one way: the pipeline calls [`domain`], [`store`] and
//! [`plugins`]; none of those call back into the pipeline.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod dry_run;
pub mod import;
pub mod mail;
pub mod pipeline;
pub mod plugins;
pub mod runtime;
pub mod store;
pub mod tenancy;
pub mod tokens;
pub mod webhook;
pub mod worker;
