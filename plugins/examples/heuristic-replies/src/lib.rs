//! `heuristic-replies`: labels an inbound reply with hand-written rules in
//! English, German, French and Spanish — interested, not interested,
//! referral (with the referred address and name), question, out of office
//! (with the return date), unsubscribe, bounce (hard or soft), auto-reply or
//! unknown — after stripping quoted history and signatures. Each rule sets
//! its own confidence and the reason names what matched.

mod classify;
mod dates;
mod phrases;
mod referral;
mod strip;
mod text;

#[cfg(test)]
mod tests;

use cam_plugin_sdk::{Classification, InboundReply, PluginInfo, ReplyClassifier};

/// The classifier.
pub struct HeuristicReplies;

impl ReplyClassifier for HeuristicReplies {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Rule-based reply labels in EN/DE/FR/ES, with out-of-office return dates and referrals.",
            &[],
        )
    }

    fn classify(reply: InboundReply) -> Classification {
        classify::classify(&reply)
    }
}

cam_plugin_sdk::export_reply_classifier!(HeuristicReplies);
