//! One trait and one export macro per plugin kind.
//!
//! The traits are the `Guest` traits wit-bindgen generates for each world,
//! re-exported under the kind's name; the macros wrap the generated `export!`
//! macro so it finds the bindings inside this crate, and expand to nothing on
//! non-wasm targets so plugin crates unit-test natively.

/// Implement this for a lead source: `describe` and
/// `next_page(cursor: Option<String>, limit: u32) -> Result<LeadPage, String>`.
///
/// `cursor` is `None` on the first call; return `next_cursor: None` when the
/// source has nothing more for now. The host persists the cursor.
#[cfg(feature = "lead-source")]
pub use crate::bindings::lead_source::Guest as LeadSource;

/// Implement this for an enricher: `describe` and
/// `enrich(leads: Vec<Lead>) -> Vec<Result<Enrichment, String>>`, one result
/// per lead, in order.
#[cfg(feature = "enricher")]
pub use crate::bindings::enricher::Guest as Enricher;

/// Implement this for a scorer: `describe` and
/// `score(leads: Vec<Lead>) -> Result<Vec<Score>, String>`, one score per
/// lead, in order.
#[cfg(feature = "scorer")]
pub use crate::bindings::scorer::Guest as Scorer;

/// Implement this for a reply classifier: `describe` and
/// `classify(reply: InboundReply) -> Classification`.
#[cfg(feature = "reply-classifier")]
pub use crate::bindings::reply_classifier::Guest as ReplyClassifier;

/// Implement this for a decision rule: `describe` and
/// `decide(snapshot: CampaignSnapshot) -> Vec<Decision>`.
#[cfg(feature = "decision-rule")]
pub use crate::bindings::decision_rule::Guest as DecisionRule;

/// Defines `export_<kind>!` for one kind: the real export when the kind's
/// feature is on, a `compile_error!` naming the feature otherwise.
// rustfmt mangles the indentation of the nested macro's body.
#[rustfmt::skip]
macro_rules! export_macro {
    ($d:tt, $feature:literal, $name:ident, $module:ident, $generated:ident, $trait:literal) => {
        #[doc = concat!(
            "Exports a type implementing [`", $trait, "`](crate::", $trait, ") as this ",
            "component's `", $feature, "` plugin: `", stringify!($name), "!(MyPlugin);` ",
            "once per crate, at the crate root or in a module. Expands to nothing on ",
            "non-wasm targets. Needs the SDK feature `", $feature, "`."
        )]
        #[cfg(feature = $feature)]
        #[macro_export]
        macro_rules! $name {
            ($d ty:ident) => {
                #[cfg(target_arch = "wasm32")]
                $d crate::bindings::$module::$generated!(
                    $d ty with_types_in $d crate::bindings::$module
                );
            };
        }

        #[doc = concat!("Needs the SDK feature `", $feature, "`.")]
        #[cfg(not(feature = $feature))]
        #[macro_export]
        macro_rules! $name {
            ($d ($d tt:tt)*) => {
                ::core::compile_error!(concat!(
                    "`",
                    stringify!($name),
                    "!` needs the `",
                    $feature,
                    "` feature of cam-plugin-sdk: cam-plugin-sdk = { ..., features = [\"",
                    $feature,
                    "\"] }"
                ));
            };
        }
    };
}

export_macro!($, "lead-source", export_lead_source, lead_source, __export_lead_source, "LeadSource");
export_macro!($, "enricher", export_enricher, enricher, __export_enricher, "Enricher");
export_macro!($, "scorer", export_scorer, scorer, __export_scorer, "Scorer");
export_macro!($, "reply-classifier", export_reply_classifier, reply_classifier, __export_reply_classifier, "ReplyClassifier");
export_macro!($, "decision-rule", export_decision_rule, decision_rule, __export_decision_rule, "DecisionRule");
