//! Structured log lines into the host's tracing, tagged with plugin and
//! tenant. Needs `log = true` in the manifest; the host rate-limits lines.
//!
//! Use the functions (`log::info("...")`) or the formatting macros at the
//! crate root (`cam_plugin_sdk::info!("{} leads", n)`).

use crate::Attribute;
pub use crate::bindings::host::cam::plugin::log::Level;

/// Logs `message` at `level` with structured `fields`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<Attribute> = fields.iter().map(|(k, v)| Attribute::new(*k, *v)).collect();
    emit(level, message, &fields);
}

fn emit(level: Level, message: &str, fields: &[Attribute]) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::host::cam::plugin::log::log(level, message, fields);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::record_log(level, message, fields);
}

/// Logs at trace level.
pub fn trace(message: &str) {
    emit(Level::Trace, message, &[]);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    emit(Level::Debug, message, &[]);
}

/// Logs at info level.
pub fn info(message: &str) {
    emit(Level::Info, message, &[]);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    emit(Level::Warn, message, &[]);
}

/// Logs at error level.
pub fn error(message: &str) {
    emit(Level::Error, message, &[]);
}

/// `format!`s and logs at trace level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::trace(&::std::format!($($arg)*)) };
}

/// `format!`s and logs at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::debug(&::std::format!($($arg)*)) };
}

/// `format!`s and logs at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::info(&::std::format!($($arg)*)) };
}

/// `format!`s and logs at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warn(&::std::format!($($arg)*)) };
}

/// `format!`s and logs at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::error(&::std::format!($($arg)*)) };
}
