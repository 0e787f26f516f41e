//! Send windows in the recipient's time zone.
//!
//! A window is a local time range on some weekdays ("09:00–17:00, Mon–Fri")
//! read on the recipient's wall clock, so a lead in New York and one in
//! Berlin are each written to during their own working day. Time-zone rules
//! come from the IANA database via `chrono-tz`, never from a hand table.
//!
//! Daylight-saving changes are handled by working on instants and asking
//! the zone what the wall clock says:
//! - when clocks spring forward and the opening time does not exist that
//!   day (02:30 in Berlin on the last Sunday of March), the window opens at
//!   the first instant the wall clock is past it, i.e. at the jump;
//! - when clocks fall back and the wall clock shows the same hour twice, the
//!   window is open during both passes (it follows the wall clock), and
//!   [`SendWindow::next_open`] returns the earlier one.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday,
    WeekdaySet,
};
use chrono_tz::Tz;

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `start` is not before `end`.
    #[error(
        "the send window must start before it ends (got {start}–{end}); windows across midnight are not supported"
    )]
    StartNotBeforeEnd {
        /// The opening time.
        start: NaiveTime,
        /// The closing time.
        end: NaiveTime,
    },
    /// No weekday is enabled.
    #[error("the send window has no days; list at least one, such as [\"mon\", \"tue\"]")]
    NoDays,
    /// The fallback zone is not an IANA zone name.
    #[error("unknown time zone {0:?}; use an IANA name such as \"Europe/Berlin\"")]
    UnknownZone(String),
}

/// A daily local-time window on some weekdays, read in the recipient's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    start: NaiveTime,
    end: NaiveTime,
    days: WeekdaySet,
    fallback_tz: Tz,
}

/// Where the zone used for a recipient came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneSource {
    /// The recipient's own zone.
    Recipient,
    /// The recipient had no zone; the window's fallback was used.
    FallbackMissing,
    /// The recipient's zone was not an IANA name; the fallback was used.
    FallbackUnknown(String),
}

/// The zone a window is read in for one recipient, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedZone {
    /// The zone.
    pub tz: Tz,
    /// Whether it is the recipient's or the fallback, and why.
    pub source: ZoneSource,
}

impl ResolvedZone {
    /// A sentence for the operator when the fallback was used because the
    /// recipient's zone was unknown; `None` otherwise.
    pub fn warning(&self) -> Option<String> {
        match &self.source {
            ZoneSource::FallbackUnknown(raw) => Some(format!(
                "unknown time zone {raw:?}; using the campaign's fallback {}",
                self.tz.name()
            )),
            _ => None,
        }
    }
}

impl SendWindow {
    /// A window open from `start` (inclusive) to `end` (exclusive) local
    /// time on `days`, read in `fallback_tz` when a recipient has no usable
    /// zone.
    pub fn new(
        start: NaiveTime,
        end: NaiveTime,
        days: WeekdaySet,
        fallback_tz: Tz,
    ) -> Result<Self, WindowError> {
        if start >= end {
            return Err(WindowError::StartNotBeforeEnd { start, end });
        }
        if days.is_empty() {
            return Err(WindowError::NoDays);
        }
        Ok(Self {
            start,
            end,
            days,
            fallback_tz,
        })
    }

    /// Business hours: 09:00–17:00, Monday to Friday.
    pub fn business_hours(fallback_tz: Tz) -> Self {
        Self {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
            days: WeekdaySet::from_array([
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]),
            fallback_tz,
        }
    }

    /// The opening time.
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// The closing time (exclusive).
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// The weekdays the window opens on.
    pub fn days(&self) -> WeekdaySet {
        self.days
    }

    /// The zone used when a recipient has none or an unknown one.
    pub fn fallback_tz(&self) -> Tz {
        self.fallback_tz
    }

    /// The zone to read the window in for a recipient whose zone is
    /// `recipient_tz` (an IANA name such as `America/New_York`). Empty or
    /// unknown names fall back to the window's zone, and the result says so.
    pub fn zone_for(&self, recipient_tz: Option<&str>) -> ResolvedZone {
        let raw = recipient_tz.map(str::trim).unwrap_or("");
        if raw.is_empty() {
            return ResolvedZone {
                tz: self.fallback_tz,
                source: ZoneSource::FallbackMissing,
            };
        }
        match raw.parse::<Tz>() {
            Ok(tz) => ResolvedZone {
                tz,
                source: ZoneSource::Recipient,
            },
            Err(_) => ResolvedZone {
                tz: self.fallback_tz,
                source: ZoneSource::FallbackUnknown(raw.to_owned()),
            },
        }
    }

    /// True when the window is open at `now` for a recipient in
    /// `recipient_tz` (see [`SendWindow::zone_for`] for the fallback).
    pub fn is_open(&self, now: DateTime<Utc>, recipient_tz: Option<&str>) -> bool {
        self.is_open_in(now, self.zone_for(recipient_tz).tz)
    }

    /// True when the window is open at `now` on the wall clock of `tz`.
    pub fn is_open_in(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = now.with_timezone(&tz).naive_local();
        self.days.contains(local.weekday()) && self.start <= local.time() && local.time() < self.end
    }

    /// The first instant at or after `now` when the window is open for a
    /// recipient in `recipient_tz`: `now` itself when it is open already.
    pub fn next_open(&self, now: DateTime<Utc>, recipient_tz: Option<&str>) -> DateTime<Utc> {
        self.next_open_in(now, self.zone_for(recipient_tz).tz)
    }

    /// The first instant at or after `now` when the window is open on the
    /// wall clock of `tz`.
    pub fn next_open_in(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        if self.is_open_in(now, tz) {
            return now;
        }
        let today = now.with_timezone(&tz).date_naive();
        // A week always holds an enabled day; a DST jump can swallow one
        // day's whole window, so look one more week ahead.
        for date in today.iter_days().take(15) {
            if !self.days.contains(date.weekday()) {
                continue;
            }
            for open in opening_instants(tz, date.and_time(self.start)) {
                if open > now && self.is_open_in(open, tz) {
                    return open;
                }
            }
        }
        // Unreachable for a window built by `new` (start < end, some day
        // enabled); answer "in a day" rather than panic.
        now + TimeDelta::days(1)
    }
}

/// The instants at which the wall clock of `tz` first reads `local` or
/// later, earliest first: one normally, two in a fall-back overlap, and the
/// moment of the jump when `local` falls in a spring-forward gap.
fn opening_instants(tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => vec![t.to_utc()],
        LocalResult::Ambiguous(a, b) => vec![a.to_utc(), b.to_utc()],
        LocalResult::None => gap_end(tz, local).into_iter().collect(),
    }
}

/// The first instant whose wall-clock time in `tz` is at or after `local`,
/// for a `local` inside a spring-forward gap: found by bisection between an
/// instant before the gap and one after it, so any gap length works.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    // No zone has ever shifted by more than a day, so these bracket the
    // gap. Transitions fall on whole seconds: bisect over seconds.
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
    let reads_at_or_after =
        |secs: i64| at(secs).is_some_and(|t| t.with_timezone(&tz).naive_local() >= local);
    let mut lo = local.and_utc().timestamp() - 26 * 3600;
    let mut hi = local.and_utc().timestamp() + 26 * 3600;
    if reads_at_or_after(lo) || !reads_at_or_after(hi) {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads_at_or_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Berlin};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn every_day(start: NaiveTime, end: NaiveTime) -> SendWindow {
        SendWindow::new(start, end, WeekdaySet::ALL, chrono_tz::UTC).unwrap()
    }

    #[test]
    fn the_window_follows_the_recipients_wall_clock() {
        let w = SendWindow::business_hours(chrono_tz::UTC);
        // Tue 2026-06-09 08:00 UTC is 10:00 in Berlin and 04:00 in New York.
        let now = utc(2026, 6, 9, 8, 0);
        assert!(w.is_open(now, Some("Europe/Berlin")));
        assert!(!w.is_open(now, Some("America/New_York")));
        assert_eq!(
            w.next_open(now, Some("America/New_York")),
            utc(2026, 6, 9, 13, 0)
        );
    }

    #[test]
    fn weekends_are_skipped() {
        let w = SendWindow::business_hours(Berlin);
        // Fri 2026-06-12 18:00 Berlin (16:00 UTC) → Mon 09:00 Berlin.
        let now = utc(2026, 6, 12, 16, 0);
        assert!(!w.is_open(now, None));
        assert_eq!(w.next_open(now, None), utc(2026, 6, 15, 7, 0));
    }

    #[test]
    fn the_end_is_exclusive() {
        let w = every_day(time(9, 0), time(17, 0));
        assert!(w.is_open(utc(2026, 1, 5, 16, 59), None));
        assert!(!w.is_open(utc(2026, 1, 5, 17, 0), None));
    }

    #[test]
    fn berlin_spring_forward_opens_at_the_jump_when_the_start_does_not_exist() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let w = every_day(time(2, 30), time(4, 0));
        let now = utc(2026, 3, 29, 0, 0); // 01:00 CET
        assert_eq!(w.next_open_in(now, Berlin), utc(2026, 3, 29, 1, 0));
        assert!(w.is_open_in(utc(2026, 3, 29, 1, 0), Berlin)); // 03:00 CEST
        assert!(!w.is_open_in(utc(2026, 3, 29, 2, 0), Berlin)); // 04:00 CEST
    }

    #[test]
    fn berlin_spring_forward_keeps_ordinary_hours_right() {
        let w = SendWindow::business_hours(Berlin);
        // Mon 2026-03-30 09:00 CEST is 07:00 UTC; the Friday before it was 08:00 UTC.
        assert_eq!(
            w.next_open(utc(2026, 3, 28, 12, 0), None),
            utc(2026, 3, 30, 7, 0)
        );
        assert_eq!(
            w.next_open(utc(2026, 3, 27, 0, 0), None),
            utc(2026, 3, 27, 8, 0)
        );
    }

    #[test]
    fn a_window_inside_the_gap_does_not_open_that_day() {
        let w = every_day(time(2, 10), time(2, 50));
        let now = utc(2026, 3, 29, 0, 0);
        // Not on the 29th (02:00–03:00 does not exist); 02:10 CEST on the 30th.
        assert_eq!(w.next_open_in(now, Berlin), utc(2026, 3, 30, 0, 10));
    }

    #[test]
    fn berlin_fall_back_is_open_during_both_passes_of_the_repeated_hour() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
        let w = every_day(time(2, 0), time(2, 30));
        assert!(w.is_open_in(utc(2026, 10, 25, 0, 15), Berlin)); // 02:15 CEST
        assert!(!w.is_open_in(utc(2026, 10, 25, 0, 45), Berlin)); // 02:45 CEST
        assert!(w.is_open_in(utc(2026, 10, 25, 1, 15), Berlin)); // 02:15 CET
        // Before the first pass the earlier opening is chosen...
        assert_eq!(
            w.next_open_in(utc(2026, 10, 24, 23, 0), Berlin),
            utc(2026, 10, 25, 0, 0)
        );
        // ...and between the passes the second one.
        assert_eq!(
            w.next_open_in(utc(2026, 10, 25, 0, 45), Berlin),
            utc(2026, 10, 25, 1, 0)
        );
    }

    #[test]
    fn new_york_spring_forward_opens_at_the_jump() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        let w = every_day(time(2, 30), time(9, 0));
        let now = utc(2026, 3, 8, 5, 0); // 00:00 EST
        assert_eq!(w.next_open_in(now, New_York), utc(2026, 3, 8, 7, 0));
    }

    #[test]
    fn new_york_business_hours_shift_by_an_hour_in_utc_across_each_change() {
        let w = SendWindow::business_hours(New_York);
        // Fri before spring-forward: 09:00 EST = 14:00 UTC; Mon after: 09:00 EDT = 13:00 UTC.
        assert_eq!(
            w.next_open(utc(2026, 3, 6, 0, 0), None),
            utc(2026, 3, 6, 14, 0)
        );
        assert_eq!(
            w.next_open(utc(2026, 3, 7, 0, 0), None),
            utc(2026, 3, 9, 13, 0)
        );
        // Fall-back 2026-11-01: Fri 09:00 EDT = 13:00 UTC; Mon 09:00 EST = 14:00 UTC.
        assert_eq!(
            w.next_open(utc(2026, 10, 30, 0, 0), None),
            utc(2026, 10, 30, 13, 0)
        );
        assert_eq!(
            w.next_open(utc(2026, 10, 31, 0, 0), None),
            utc(2026, 11, 2, 14, 0)
        );
    }

    #[test]
    fn new_york_fall_back_repeats_the_one_oclock_hour() {
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
        let w = every_day(time(1, 0), time(1, 30));
        assert!(w.is_open_in(utc(2026, 11, 1, 5, 10), New_York)); // 01:10 EDT
        assert!(w.is_open_in(utc(2026, 11, 1, 6, 10), New_York)); // 01:10 EST
        assert!(!w.is_open_in(utc(2026, 11, 1, 5, 40), New_York)); // 01:40 EDT
    }

    #[test]
    fn an_unknown_zone_falls_back_and_says_so() {
        let w = SendWindow::business_hours(Berlin);
        let zone = w.zone_for(Some("Mars/Olympus_Mons"));
        assert_eq!(zone.tz, Berlin);
        assert_eq!(
            zone.source,
            ZoneSource::FallbackUnknown("Mars/Olympus_Mons".into())
        );
        assert!(zone.warning().unwrap().contains("Mars/Olympus_Mons"));
        assert_eq!(w.zone_for(Some(" ")).source, ZoneSource::FallbackMissing);
        assert_eq!(w.zone_for(None).warning(), None);
        let now = utc(2026, 6, 9, 8, 0);
        assert_eq!(
            w.is_open(now, Some("Mars/Olympus_Mons")),
            w.is_open_in(now, Berlin)
        );
    }

    #[test]
    fn invalid_windows_are_refused() {
        assert!(matches!(
            SendWindow::new(time(17, 0), time(9, 0), WeekdaySet::ALL, Berlin),
            Err(WindowError::StartNotBeforeEnd { .. })
        ));
        assert_eq!(
            SendWindow::new(time(9, 0), time(17, 0), WeekdaySet::EMPTY, Berlin),
            Err(WindowError::NoDays)
        );
    }
}
