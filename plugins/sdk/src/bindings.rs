//! The generated bindings: the `host` world once (shared types and the host
//! imports), then one module per enabled plugin kind whose world reuses those
//! types and imports through `with`.
//!
//! Every kind module embeds only an imports section (wit-bindgen strips the
//! exports from the section it links into the library); the exports section
//! is emitted by the kind's `export_*!` macro in the plugin crate. A plugin
//! therefore carries exactly one world's exports however many kind features
//! cargo unified into this crate, and a workspace-wide native `cargo test`
//! (which enables every kind at once) still builds.
//!
//! The WIT is read from the repository's `wit/` folder: `generate!` resolves
//! `path` against this crate's manifest directory.
#![allow(missing_docs, unsafe_code)]

/// Types shared by every kind and the host imports (`log`, `config`, `kv`,
/// `http`, `clock`).
pub mod host {
    wit_bindgen::generate!({
        world: "host",
        path: "../../wit",
        generate_unused_types: true,
        additional_derives: [PartialEq],
    });
}

/// The `lead-source` world's exports.
#[cfg(feature = "lead-source")]
pub mod lead_source {
    wit_bindgen::generate!({
        world: "lead-source",
        path: "../../wit",
        with: {
            "cam:plugin/types@0.1.0": crate::bindings::host::cam::plugin::types,
            "cam:plugin/log@0.1.0": crate::bindings::host::cam::plugin::log,
            "cam:plugin/config@0.1.0": crate::bindings::host::cam::plugin::config,
            "cam:plugin/kv@0.1.0": crate::bindings::host::cam::plugin::kv,
            "cam:plugin/http@0.1.0": crate::bindings::host::cam::plugin::http,
            "cam:plugin/clock@0.1.0": crate::bindings::host::cam::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_lead_source",
        default_bindings_module: "$crate::bindings::lead_source",
    });
}

/// The `enricher` world's exports.
#[cfg(feature = "enricher")]
pub mod enricher {
    wit_bindgen::generate!({
        world: "enricher",
        path: "../../wit",
        with: {
            "cam:plugin/types@0.1.0": crate::bindings::host::cam::plugin::types,
            "cam:plugin/log@0.1.0": crate::bindings::host::cam::plugin::log,
            "cam:plugin/config@0.1.0": crate::bindings::host::cam::plugin::config,
            "cam:plugin/kv@0.1.0": crate::bindings::host::cam::plugin::kv,
            "cam:plugin/http@0.1.0": crate::bindings::host::cam::plugin::http,
            "cam:plugin/clock@0.1.0": crate::bindings::host::cam::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_enricher",
        default_bindings_module: "$crate::bindings::enricher",
    });
}

/// The `scorer` world's exports.
#[cfg(feature = "scorer")]
pub mod scorer {
    wit_bindgen::generate!({
        world: "scorer",
        path: "../../wit",
        with: {
            "cam:plugin/types@0.1.0": crate::bindings::host::cam::plugin::types,
            "cam:plugin/log@0.1.0": crate::bindings::host::cam::plugin::log,
            "cam:plugin/config@0.1.0": crate::bindings::host::cam::plugin::config,
            "cam:plugin/kv@0.1.0": crate::bindings::host::cam::plugin::kv,
            "cam:plugin/http@0.1.0": crate::bindings::host::cam::plugin::http,
            "cam:plugin/clock@0.1.0": crate::bindings::host::cam::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_scorer",
        default_bindings_module: "$crate::bindings::scorer",
    });
}

/// The `reply-classifier` world's exports.
#[cfg(feature = "reply-classifier")]
pub mod reply_classifier {
    wit_bindgen::generate!({
        world: "reply-classifier",
        path: "../../wit",
        with: {
            "cam:plugin/types@0.1.0": crate::bindings::host::cam::plugin::types,
            "cam:plugin/log@0.1.0": crate::bindings::host::cam::plugin::log,
            "cam:plugin/config@0.1.0": crate::bindings::host::cam::plugin::config,
            "cam:plugin/kv@0.1.0": crate::bindings::host::cam::plugin::kv,
            "cam:plugin/http@0.1.0": crate::bindings::host::cam::plugin::http,
            "cam:plugin/clock@0.1.0": crate::bindings::host::cam::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_reply_classifier",
        default_bindings_module: "$crate::bindings::reply_classifier",
    });
}

/// The `decision-rule` world's exports.
#[cfg(feature = "decision-rule")]
pub mod decision_rule {
    wit_bindgen::generate!({
        world: "decision-rule",
        path: "../../wit",
        with: {
            "cam:plugin/types@0.1.0": crate::bindings::host::cam::plugin::types,
            "cam:plugin/log@0.1.0": crate::bindings::host::cam::plugin::log,
            "cam:plugin/config@0.1.0": crate::bindings::host::cam::plugin::config,
            "cam:plugin/kv@0.1.0": crate::bindings::host::cam::plugin::kv,
            "cam:plugin/http@0.1.0": crate::bindings::host::cam::plugin::http,
            "cam:plugin/clock@0.1.0": crate::bindings::host::cam::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_decision_rule",
        default_bindings_module: "$crate::bindings::decision_rule",
    });
}
