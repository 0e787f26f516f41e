//! Rolling 24-hour send caps, per campaign and per sending mailbox.
//!
//! A cap of 50 means "at most 50 emails in any 24 hours", not "50 per
//! calendar day": a calendar day lets 100 go out around midnight, which is
//! what mailbox providers punish. So the room left now is the cap minus the
//! sends in the last 24 hours, and the next slot frees up exactly 24 hours
//! after the send that falls out of the window.

use chrono::{DateTime, TimeDelta, Utc};

/// The length of the rolling window.
pub const CAP_WINDOW: TimeDelta = TimeDelta::hours(24);

/// How much room a cap has left at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapRoom {
    /// How many more emails may go out right now.
    pub remaining: u32,
    /// When the next slot frees up if `remaining` is 0; `None` when there is
    /// room now, or when it cannot be known (see [`room_from_count`]).
    pub next_slot_at: Option<DateTime<Utc>>,
}

/// The room under `cap` at `now`, given the times of earlier sends.
///
/// `sent_at` may hold any sends (older ones and ones outside the window are
/// ignored) in any order. Sends dated in the future (clock skew between
/// workers) count as inside the window: being conservative costs a delay,
/// not a provider block.
pub fn room(now: DateTime<Utc>, sent_at: &[DateTime<Utc>], cap: u32) -> CapRoom {
    let window_start = now - CAP_WINDOW;
    let mut in_window: Vec<DateTime<Utc>> = sent_at.iter().copied().filter(|&t| t > window_start).collect();
    let used = u32::try_from(in_window.len()).unwrap_or(u32::MAX);
    if used < cap {
        return CapRoom {
            remaining: cap - used,
            next_slot_at: None,
        };
    }
    // Full: one slot frees when the (used - cap + 1)-th oldest send leaves
    // the window. When the cap was lowered below `used`, that is a later
    // send than the oldest.
    in_window.sort_unstable();
    let leaving = (used - cap) as usize;
    CapRoom {
        remaining: 0,
        next_slot_at: in_window.get(leaving).map(|&t| t + CAP_WINDOW),
    }
}

/// The room under `cap` when only the count of sends in the last 24 hours is
/// known (a `COUNT(*)` from the store) and, optionally, the oldest of them.
/// `next_slot_at` is only given when it is exact: the window is exactly full
/// and the oldest send is known.
pub fn room_from_count(sent_in_window: u32, oldest_in_window: Option<DateTime<Utc>>, cap: u32) -> CapRoom {
    if sent_in_window < cap {
        return CapRoom {
            remaining: cap - sent_in_window,
            next_slot_at: None,
        };
    }
    CapRoom {
        remaining: 0,
        next_slot_at: oldest_in_window
            .filter(|_| sent_in_window == cap)
            .map(|t| t + CAP_WINDOW),
    }
}

/// Hands out send slots one at a time under a campaign cap and the caps of
/// the campaign's mailboxes, always from the mailbox with the most room (ties
/// go to the first listed), so load spreads evenly and no mailbox is pushed
/// to its limit while another idles.
#[derive(Debug, Clone)]
pub struct SendBudget {
    campaign_remaining: u32,
    mailbox_remaining: Vec<u32>,
}

impl SendBudget {
    /// A budget from the campaign's room and each mailbox's room, in the
    /// order the campaign lists its mailboxes. A campaign without mailboxes
    /// of its own sends from the tenant's default sender: pass that
    /// mailbox's room as the only entry, since no mailboxes means no sends.
    pub fn new(campaign: CapRoom, mailboxes: &[CapRoom]) -> Self {
        Self {
            campaign_remaining: campaign.remaining,
            mailbox_remaining: mailboxes.iter().map(|m| m.remaining).collect(),
        }
    }

    /// How many emails can still go out now across all mailboxes.
    pub fn remaining(&self) -> u32 {
        let mailboxes = self
            .mailbox_remaining
            .iter()
            .fold(0u32, |sum, &r| sum.saturating_add(r));
        self.campaign_remaining.min(mailboxes)
    }

    /// Takes one slot: returns the index of the mailbox to send from, or
    /// `None` when the campaign or every mailbox is at its cap.
    pub fn take(&mut self) -> Option<usize> {
        if self.campaign_remaining == 0 {
            return None;
        }
        let (index, room) = self
            .mailbox_remaining
            .iter_mut()
            .enumerate()
            // max_by_key keeps the last of equals; reverse to prefer the first.
            .rev()
            .max_by_key(|(_, room)| **room)?;
        if *room == 0 {
            return None;
        }
        *room -= 1;
        self.campaign_remaining -= 1;
        Some(index)
    }
}

/// The index of the mailbox with the most room now, or `None` when all are
/// full (or there are none). Ties go to the first listed.
pub fn pick_mailbox(mailboxes: &[CapRoom]) -> Option<usize> {
    SendBudget::new(
        CapRoom {
            remaining: 1,
            next_slot_at: None,
        },
        mailboxes,
    )
    .take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }

    fn free(remaining: u32) -> CapRoom {
        CapRoom {
            remaining,
            next_slot_at: None,
        }
    }

    #[test]
    fn sends_older_than_24_hours_free_their_slot() {
        let now = at(12, 0);
        let sends = [now - TimeDelta::hours(25), now - TimeDelta::hours(1)];
        assert_eq!(room(now, &sends, 2), free(1));
    }

    #[test]
    fn a_full_cap_says_when_the_oldest_send_leaves_the_window() {
        let now = at(12, 0);
        let sends = [at(9, 0), at(3, 0), at(7, 30)];
        let r = room(now, &sends, 3);
        assert_eq!(r.remaining, 0);
        assert_eq!(r.next_slot_at, Some(at(3, 0) + CAP_WINDOW));
    }

    #[test]
    fn a_lowered_cap_waits_for_enough_sends_to_leave() {
        let now = at(12, 0);
        let sends = [at(1, 0), at(2, 0), at(3, 0), at(4, 0)];
        let r = room(now, &sends, 2);
        assert_eq!(r.remaining, 0);
        // Two must leave before one slot frees: the one at 03:00 is the third.
        assert_eq!(r.next_slot_at, Some(at(3, 0) + CAP_WINDOW));
    }

    #[test]
    fn the_window_is_rolling_not_per_calendar_day() {
        // 50 sends at 23:00 block sends at 01:00 the next day.
        let sends = vec![at(23, 0); 50];
        let next_morning = at(23, 0) + TimeDelta::hours(2);
        assert_eq!(room(next_morning, &sends, 50).remaining, 0);
    }

    #[test]
    fn counts_give_room_and_an_exact_next_slot_only_when_known() {
        assert_eq!(room_from_count(3, None, 10), free(7));
        assert_eq!(
            room_from_count(10, Some(at(1, 0)), 10).next_slot_at,
            Some(at(1, 0) + CAP_WINDOW)
        );
        assert_eq!(room_from_count(12, Some(at(1, 0)), 10).next_slot_at, None);
    }

    #[test]
    fn the_budget_spreads_sends_over_the_roomiest_mailbox() {
        let mut budget = SendBudget::new(free(10), &[free(2), free(3), free(0)]);
        let picks: Vec<_> = std::iter::from_fn(|| budget.take()).collect();
        assert_eq!(picks, vec![1, 0, 1, 0, 1]);
        assert_eq!(budget.remaining(), 0);
    }

    #[test]
    fn the_campaign_cap_limits_all_mailboxes_together() {
        let mut budget = SendBudget::new(free(2), &[free(5), free(5)]);
        assert_eq!(budget.remaining(), 2);
        assert_eq!(budget.take(), Some(0));
        assert_eq!(budget.take(), Some(1));
        assert_eq!(budget.take(), None);
    }

    #[test]
    fn no_mailbox_is_picked_when_all_are_full() {
        assert_eq!(pick_mailbox(&[free(0), free(0)]), None);
        assert_eq!(pick_mailbox(&[]), None);
        assert_eq!(pick_mailbox(&[free(1), free(4), free(4)]), Some(1));
    }
}
