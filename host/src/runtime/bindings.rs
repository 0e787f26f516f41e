//! The `bindgen!` output for the WIT package `cam:plugin`, generated once.
//!
//! The host imports (`log`, `config`, `kv`, `http`, `clock`) and the shared
//! types are generated from the import-only `host` world; each plugin world
//! maps them onto those modules with `with`, so there is one `Host` trait per
//! import and one linker serves every plugin kind.

#[expect(missing_docs, reason = "bindgen! output has no docs")]
mod host_world {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cam:plugin/host",
        imports: {
            "cam:plugin/http.send": async | trappable,
            "cam:plugin/kv": async | trappable,
            default: trappable,
        },
    });
}

/// The WIT package these bindings were generated from, (file name, text):
/// what `cam plugins wit` writes, so that plugin authors outside this
/// repository build against the exact contract this binary speaks.
pub const WIT_FILES: &[(&str, &str)] = &[
    ("host.wit", include_str!("../../../wit/host.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// The shared types and host-import interfaces.
pub use host_world::cam::plugin::{clock, config, http, kv, log, types};

/// Every `cam:plugin` host import, to add to a linker (`HostImports::add_to_linker`).
pub(crate) use host_world::Host_ as HostImports;

macro_rules! plugin_world {
    ($(#[$doc:meta])* $module:ident, $world:literal) => {
        $(#[$doc])*
        #[expect(missing_docs, reason = "bindgen! output has no docs")]
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit",
                world: $world,
                exports: { default: async },
                with: {
                    "cam:plugin/types": super::types,
                    "cam:plugin/log": super::log,
                    "cam:plugin/config": super::config,
                    "cam:plugin/kv": super::kv,
                    "cam:plugin/http": super::http,
                    "cam:plugin/clock": super::clock,
                },
            });
        }
    };
}

plugin_world!(
    /// Bindings for the `lead-source` world.
    lead_source,
    "cam:plugin/lead-source"
);
plugin_world!(
    /// Bindings for the `enricher` world.
    enricher,
    "cam:plugin/enricher"
);
plugin_world!(
    /// Bindings for the `scorer` world.
    scorer,
    "cam:plugin/scorer"
);
plugin_world!(
    /// Bindings for the `reply-classifier` world.
    reply_classifier,
    "cam:plugin/reply-classifier"
);
plugin_world!(
    /// Bindings for the `decision-rule` world.
    decision_rule,
    "cam:plugin/decision-rule"
);
