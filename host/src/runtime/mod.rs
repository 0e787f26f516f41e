//! The wasmtime engine, the generated bindings, per-call limits and the host
//! side of every import.

pub mod bindings;
pub mod call_gate;
pub mod engine;
pub mod error;
pub mod grants;
pub mod guest_text;
pub mod host_pattern;
pub mod imports;
pub mod kv_backend;
pub mod limits;
pub mod net_policy;
pub mod output_check;
pub mod state;
pub mod wasi_env;
pub mod wasm_limits;
pub mod wire_size;

pub use engine::Runtime;
pub use error::{FailureKind, PluginError};
pub use limits::Limits;
pub use state::{CallScope, PluginIdentity};
