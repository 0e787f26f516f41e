//! A well-behaved component for the `decision-rule` world, shipped with a
//! manifest that declares it a `scorer`. Nothing in it misbehaves at run
//! time: the host must notice at load time that the component does not export
//! the `scorer` world's `score` function, refuse to activate it with an error
//! naming the expected and the actual world, and keep the previous version (if
//! any) serving.

wit_bindgen::generate!({ world: "decision-rule", path: "../../../wit" });

use cam::plugin::types::Action;

struct WrongWorld;

impl Guest for WrongWorld {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "wrong-world".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "A decision rule whose manifest claims it is a scorer.".to_string(),
            needs: Vec::new(),
        }
    }

    fn decide(_snapshot: CampaignSnapshot) -> Vec<Decision> {
        vec![Decision {
            action: Action::Nothing,
            reason: "wrong-world never acts".to_string(),
        }]
    }
}

export!(WrongWorld);
