//! The lead lifecycle state machine.

use serde::{Deserialize, Serialize};

/// Where a lead is in its lifecycle. LOST, NURTURE and DEAD are endings;
/// suppression is kept apart from the lifecycle (see `domain::suppression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LeadState {
    /// Just discovered.
    New,
    /// Enrichers ran.
    Enriched,
    /// At least one email went out.
    Contacted,
    /// Replied positively; the sequence stops.
    Interested,
    /// A human confirmed the lead is a fit.
    Qualified,
    /// Said no.
    Lost,
    /// Sequence finished without a reply; keep warm.
    Nurture,
    /// Sequence finished without a reply; stop.
    Dead,
}

impl LeadState {
    /// The state's name as stored in the database (`NEW`, `ENRICHED`...).
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::New => "NEW",
            LeadState::Enriched => "ENRICHED",
            LeadState::Contacted => "CONTACTED",
            LeadState::Interested => "INTERESTED",
            LeadState::Qualified => "QUALIFIED",
            LeadState::Lost => "LOST",
            LeadState::Nurture => "NURTURE",
            LeadState::Dead => "DEAD",
        }
    }
}

/// Every state, in lifecycle order. Handy for exhaustive tests and listings.
pub const ALL_STATES: [LeadState; 8] = [
    LeadState::New,
    LeadState::Enriched,
    LeadState::Contacted,
    LeadState::Interested,
    LeadState::Qualified,
    LeadState::Lost,
    LeadState::Nurture,
    LeadState::Dead,
];

impl LeadState {
    /// True when no transition leaves this state: QUALIFIED (handed to a
    /// human), LOST (said no) and DEAD (undeliverable or finished).
    ///
    /// NURTURE is an ending of a sequence but not final: a nurtured lead can
    /// be re-engaged by a later campaign (NURTURE → CONTACTED).
    pub fn is_final(self) -> bool {
        matches!(self, LeadState::Qualified | LeadState::Lost | LeadState::Dead)
    }

    /// The states this one may move to, in lifecycle order.
    pub fn next_states(self) -> impl Iterator<Item = LeadState> {
        ALL_STATES.into_iter().filter(move |&to| transition(self, to).is_ok())
    }
}

/// A lead was asked to move along an edge the lifecycle does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a lead cannot move from {} to {}{}", .from.as_str(), .to.as_str(), why_not(*.from, *.to))]
pub struct IllegalTransition {
    /// The state the lead is in.
    pub from: LeadState,
    /// The state it was asked to move to.
    pub to: LeadState,
}

/// The short explanation appended to an [`IllegalTransition`] message.
fn why_not(from: LeadState, to: LeadState) -> &'static str {
    if from.is_final() {
        " (it is final)"
    } else if from == to {
        " (it is already there)"
    } else {
        ""
    }
}

/// Checks that a lead may move from `from` to `to`.
///
/// The legal graph (anything else is an [`IllegalTransition`], never a
/// silent no-op, so a pipeline bug shows up instead of corrupting state):
///
/// | from | to | why |
/// |---|---|---|
/// | NEW | ENRICHED | the enrichers ran |
/// | NEW, ENRICHED | CONTACTED | the first email went out (enrichment is optional) |
/// | NEW, ENRICHED | DEAD | the address turned out undeliverable before any email |
/// | CONTACTED | INTERESTED | a positive reply; the sequence stops |
/// | CONTACTED | NURTURE, DEAD | the last step went out without a reply (per campaign `after_last_step`) |
/// | INTERESTED | QUALIFIED | a human confirmed the fit |
/// | NURTURE | CONTACTED | a later campaign re-engages the lead |
/// | any non-final | LOST | an explicit "not interested" (a reply, an operator, a rule) |
///
/// Staying in the same state is not a transition: sending step 2 to a
/// CONTACTED lead changes no state, so callers only call this when the
/// state actually changes, and `X → X` is reported as illegal.
///
/// Final states ([`LeadState::is_final`]) have no way out. Suppression
/// (unsubscribe, hard bounce) is deliberately not a state: it is kept apart so
/// that a suppressed address stays suppressed whatever its lead's state.
pub fn transition(from: LeadState, to: LeadState) -> Result<(), IllegalTransition> {
    use LeadState::*;
    let legal = match (from, to) {
        (New, Enriched) => true,
        (New | Enriched, Contacted) => true,
        (New | Enriched, Dead) => true,
        (Contacted, Interested | Nurture | Dead) => true,
        (Interested, Qualified) => true,
        (Nurture, Contacted) => true,
        (from, Lost) => !from.is_final(),
        _ => false,
    };
    if legal {
        Ok(())
    } else {
        Err(IllegalTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::LeadState::*;
    use super::*;

    #[test]
    fn the_happy_path_is_legal_step_by_step() {
        let path = [New, Enriched, Contacted, Interested, Qualified];
        for pair in path.windows(2) {
            assert_eq!(transition(pair[0], pair[1]), Ok(()), "{pair:?}");
        }
    }

    #[test]
    fn a_lead_can_be_contacted_without_enrichment() {
        assert!(transition(New, Contacted).is_ok());
    }

    #[test]
    fn a_contacted_lead_can_end_in_every_outcome() {
        for to in [Interested, Lost, Nurture, Dead] {
            assert!(transition(Contacted, to).is_ok(), "{to:?}");
        }
    }

    #[test]
    fn undeliverable_leads_die_before_contact() {
        assert!(transition(Enriched, Dead).is_ok());
        assert!(transition(New, Dead).is_ok());
    }

    #[test]
    fn nurtured_leads_can_be_re_engaged() {
        assert!(transition(Nurture, Contacted).is_ok());
        assert!(!Nurture.is_final());
    }

    #[test]
    fn every_non_final_state_can_be_lost_on_an_explicit_no() {
        for from in ALL_STATES.into_iter().filter(|s| !s.is_final()) {
            assert!(transition(from, Lost).is_ok(), "{from:?}");
        }
    }

    #[test]
    fn final_states_have_no_way_out() {
        for from in [Qualified, Lost, Dead] {
            assert!(from.is_final());
            for to in ALL_STATES {
                assert_eq!(transition(from, to), Err(IllegalTransition { from, to }));
            }
            assert_eq!(from.next_states().count(), 0);
        }
    }

    #[test]
    fn staying_in_place_is_an_error_not_a_no_op() {
        for s in ALL_STATES {
            assert!(transition(s, s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn skipping_ahead_or_going_back_is_illegal() {
        for (from, to) in [
            (New, Interested),
            (New, Qualified),
            (Enriched, Nurture),
            (Contacted, Qualified),
            (Contacted, New),
            (Interested, Contacted),
            (Interested, Dead),
            (Nurture, Interested),
        ] {
            assert!(transition(from, to).is_err(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn the_error_names_both_states() {
        let err = transition(Qualified, Contacted).unwrap_err().to_string();
        assert!(err.contains("QUALIFIED") && err.contains("CONTACTED"), "{err}");
        assert!(err.contains("final"), "{err}");
    }

    #[test]
    fn next_states_lists_the_legal_moves() {
        let next: Vec<_> = Contacted.next_states().collect();
        assert_eq!(next, vec![Interested, Lost, Nurture, Dead]);
    }
}
