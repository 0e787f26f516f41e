//! Why one item of a step failed: a typed error that keeps its cause.
//!
//! A step does not stop at a failed item; it lists the failure in its
//! report ([`StepReport::fail`](super::report::StepReport::fail)) and goes
//! on. The report keeps text (it is stored as JSON and read by people), so
//! a [`StepError`] becomes its whole cause chain, outermost first, when it
//! is listed: `could not record CONTACTED → LOST: database is locked`.

use crate::domain::email::EmailError;
use crate::domain::lifecycle::{IllegalTransition, LeadState};
use crate::runtime::error::PluginError;
use crate::store::StoreError;

/// One failed item of a cycle step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The campaign binds a plugin that is not loaded.
    #[error("plugin {name:?} is bound to the campaign but not loaded; see `cam plugins list`")]
    NotLoaded {
        /// The bound name.
        name: String,
    },
    /// The campaign binds a plugin under the wrong kind.
    #[error("plugin {name:?} is a {actual}, not a {expected}")]
    WrongKind {
        /// The bound name.
        name: String,
        /// The kind the plugin is.
        actual: &'static str,
        /// The kind the binding needs.
        expected: &'static str,
    },
    /// The plugin's active version is quarantined.
    #[error("plugin {name}@{version} is quarantined after repeated failures; load a fixed version")]
    Quarantined {
        /// The plugin.
        name: String,
        /// Its quarantined version.
        version: String,
    },
    /// The plugin call failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The lifecycle has no such move.
    #[error(transparent)]
    Lifecycle(#[from] IllegalTransition),
    /// Storing a lead's move failed.
    #[error("could not record {} → {}", from.as_str(), to.as_str())]
    RecordMove {
        /// The lead's state before.
        from: LeadState,
        /// The state it was to move to.
        to: LeadState,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// Adding an address to the suppression list failed.
    #[error("cannot suppress {address}")]
    Suppress {
        /// The address.
        address: String,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// Another store operation failed.
    #[error("cannot {doing}")]
    Store {
        /// What the step was doing, as a verb phrase (`read the matched lead`).
        doing: &'static str,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// A reply classifier's referral names an address that is not one.
    #[error("referral to an invalid address {address:?}")]
    InvalidReferral {
        /// The address as the classifier gave it.
        address: String,
        /// Why it is not an address.
        #[source]
        source: EmailError,
    },
    /// A decision rule named a lead this campaign does not have.
    #[error("no lead {email} in this campaign")]
    NoSuchLead {
        /// The address the rule gave.
        email: String,
    },
}

impl StepError {
    /// A [`StepError::Store`] for `source`, while doing `doing`.
    pub fn store(doing: &'static str) -> impl FnOnce(StoreError) -> StepError {
        move |source| StepError::Store { doing, source }
    }
}

/// The error and its causes, outermost first, joined by `: `.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        // A transparent wrapper repeats its cause's text; say it once.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

impl From<StepError> for String {
    fn from(error: StepError) -> String {
        chain(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_failure_names_the_cause() {
        let error = StepError::RecordMove {
            from: LeadState::Contacted,
            to: LeadState::Lost,
            source: StoreError::Conflict("the lead moved meanwhile".into()),
        };
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(
            String::from(error),
            "could not record CONTACTED → LOST: conflict: the lead moved meanwhile"
        );
    }
}
