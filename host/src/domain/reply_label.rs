//! The labels a reply is stored with (`inbound_messages.label`) and what
//! each counts as in the metrics, the same way the classify step counts
//! them into a campaign's running totals (`pipeline::classify::apply`).

/// Every label the host stores: the classifier's labels, plus `complaint`
/// and `bounce-block` for what the host recognises itself.
pub const STORED_LABELS: [&str; 12] = [
    "interested",
    "not-interested",
    "referral",
    "question",
    "out-of-office",
    "unsubscribe",
    "bounce-hard",
    "bounce-soft",
    "bounce-block",
    "complaint",
    "auto-reply",
    "unknown",
];

/// Labels of a person answering (bounces, complaints, auto-replies and
/// out-of-office notes are not replies).
pub const REPLY_LABELS: [&str; 6] = [
    "interested",
    "question",
    "not-interested",
    "unsubscribe",
    "referral",
    "unknown",
];

/// Replies a person should follow up: interest and questions.
pub const POSITIVE_LABELS: [&str; 2] = ["interested", "question"];

/// Delivery failures, policy blocks included (the decision rules must see
/// a sender being refused).
pub const BOUNCE_LABELS: [&str; 3] = ["bounce-hard", "bounce-soft", "bounce-block"];

/// Requests to stop writing.
pub const UNSUBSCRIBE_LABELS: [&str; 1] = ["unsubscribe"];

/// Whether `label` is one the host stores.
pub fn is_stored_label(label: &str) -> bool {
    STORED_LABELS.contains(&label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counted_label_is_a_stored_one() {
        for label in REPLY_LABELS
            .iter()
            .chain(&POSITIVE_LABELS)
            .chain(&BOUNCE_LABELS)
            .chain(&UNSUBSCRIBE_LABELS)
        {
            assert!(is_stored_label(label), "{label}");
        }
        assert!(!is_stored_label("Interested"), "labels are lower case");
    }
}
