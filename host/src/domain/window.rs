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
//!   window is open during both passes (it follows the wall clock): it opens
//!   at the first pass and, if it closed in between, again at the moment
//!   the clock falls back into it.

use chrono::{DateTime, Datelike, LocalResult, NaiveTime, Offset, TimeDelta, TimeZone, Utc, Weekday, WeekdaySet};
use chrono_tz::Tz;

/// Opening time of [`SendWindow::business_hours`].
pub const BUSINESS_START: NaiveTime = const_time(9, 0);
/// Closing time of [`SendWindow::business_hours`].
pub const BUSINESS_END: NaiveTime = const_time(17, 0);

/// A time for a constant; an invalid one fails the build, not a run.
const fn const_time(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// `start` is not before `end`.
    #[error("the send window must start before it ends (got {start}–{end}); windows across midnight are not supported")]
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
    pub fn new(start: NaiveTime, end: NaiveTime, days: WeekdaySet, fallback_tz: Tz) -> Result<Self, WindowError> {
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
            start: BUSINESS_START,
            end: BUSINESS_END,
            days: WeekdaySet::from_array([Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]),
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
        match parse_zone(raw) {
            Some(tz) => ResolvedZone {
                tz,
                source: ZoneSource::Recipient,
            },
            None => ResolvedZone {
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
    ///
    /// The wall clock enters the window either by reaching `start` on an
    /// enabled day or by jumping into the window at a clock change (past a
    /// `start` swallowed by a spring-forward gap, or back into it when clocks
    /// fall back). Both kinds of instant are candidates; the earliest one
    /// after `now` at which the window is open is the answer.
    pub fn next_open_in(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        if self.is_open_in(now, tz) {
            return now;
        }
        let today = now.with_timezone(&tz).date_naive();
        let horizon = now + TimeDelta::days(LOOKAHEAD_DAYS as i64 + 1);
        let mut candidates = clock_changes(tz, now, horizon);
        for date in today.iter_days().take(LOOKAHEAD_DAYS) {
            if !self.days.contains(date.weekday()) {
                continue;
            }
            match tz.from_local_datetime(&date.and_time(self.start)) {
                LocalResult::Single(t) => candidates.push(t.to_utc()),
                LocalResult::Ambiguous(first, second) => {
                    candidates.extend([first.to_utc(), second.to_utc()]);
                }
                // Inside a spring-forward gap: the clock change that skips
                // over `start` is already a candidate.
                LocalResult::None => {}
            }
        }
        candidates.sort_unstable();
        candidates
            .into_iter()
            .find(|&t| t > now && self.is_open_in(t, tz))
            // Unreachable for a window built by `new` (start < end, some day
            // enabled); answer "in a day" rather than panic.
            .unwrap_or(now + TimeDelta::days(1))
    }
}

/// An IANA zone name as people type it: exact, or with its case fixed
/// (`europe/berlin`, `AMERICA/NEW_YORK`, `utc`).
fn parse_zone(raw: &str) -> Option<Tz> {
    if let Ok(tz) = raw.parse() {
        return Some(tz);
    }
    let mut title = String::with_capacity(raw.len());
    let mut word_start = true;
    for c in raw.chars() {
        if word_start {
            title.extend(c.to_uppercase());
        } else {
            title.extend(c.to_lowercase());
        }
        word_start = matches!(c, '/' | '_' | '-');
    }
    title.parse().or_else(|_| raw.to_ascii_uppercase().parse()).ok()
}

/// How many days [`SendWindow::next_open_in`] looks ahead: a week always
/// holds an enabled day, and a clock change can swallow one day's whole
/// window, so a second week.
const LOOKAHEAD_DAYS: usize = 15;

/// How often [`clock_changes`] probes the offset. Real zones change their
/// offset at most a few times a year, never twice within six hours.
const PROBE_SECONDS: i64 = 6 * 3600;

/// The instants in `(from, to]` at which the UTC offset of `tz` changes,
/// found by probing and then bisecting to the second (changes fall on whole
/// seconds).
fn clock_changes(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
    let offset = |secs: i64| at(secs).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix());
    let mut changes = Vec::new();
    let (mut a, end) = (from.timestamp(), to.timestamp());
    while a < end {
        let b = (a + PROBE_SECONDS).min(end);
        let before = offset(a);
        if before != offset(b) {
            let (mut lo, mut hi) = (a, b);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == before {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            changes.extend(at(hi));
        }
        a = b;
    }
    changes
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
        assert_eq!(w.next_open(now, Some("America/New_York")), utc(2026, 6, 9, 13, 0));
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
        assert_eq!(w.next_open(utc(2026, 3, 28, 12, 0), None), utc(2026, 3, 30, 7, 0));
        assert_eq!(w.next_open(utc(2026, 3, 27, 0, 0), None), utc(2026, 3, 27, 8, 0));
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
    fn a_window_reopens_when_clocks_fall_back_into_it() {
        // 01:00–02:30 Berlin on 2026-10-25: closed at 02:43 CEST (00:43 UTC),
        // open again when 03:00 CEST falls back to 02:00 CET (01:00 UTC).
        let w = every_day(time(1, 0), time(2, 30));
        assert!(!w.is_open_in(utc(2026, 10, 25, 0, 43), Berlin));
        assert_eq!(
            w.next_open_in(utc(2026, 10, 25, 0, 43), Berlin),
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
        assert_eq!(w.next_open(utc(2026, 3, 6, 0, 0), None), utc(2026, 3, 6, 14, 0));
        assert_eq!(w.next_open(utc(2026, 3, 7, 0, 0), None), utc(2026, 3, 9, 13, 0));
        // Fall-back 2026-11-01: Fri 09:00 EDT = 13:00 UTC; Mon 09:00 EST = 14:00 UTC.
        assert_eq!(w.next_open(utc(2026, 10, 30, 0, 0), None), utc(2026, 10, 30, 13, 0));
        assert_eq!(w.next_open(utc(2026, 10, 31, 0, 0), None), utc(2026, 11, 2, 14, 0));
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
    fn next_open_is_always_the_first_open_minute_across_dst_weekends() {
        // Sweep both change weekends of 2026 in both zones, with windows
        // that touch the gaps and overlaps, and compare next_open against
        // a minute-by-minute scan.
        let windows = [
            SendWindow::business_hours(Berlin),
            every_day(time(2, 0), time(3, 0)),
            every_day(time(2, 30), time(2, 45)),
            every_day(time(1, 0), time(2, 30)),
            SendWindow::new(time(0, 0), time(1, 0), WeekdaySet::single(Weekday::Sun), Berlin).unwrap(),
        ];
        let starts = [
            utc(2026, 3, 6, 0, 0),
            utc(2026, 3, 27, 0, 0),
            utc(2026, 10, 23, 0, 0),
            utc(2026, 10, 30, 0, 0),
        ];
        for tz in [Berlin, New_York] {
            for w in &windows {
                for start in starts {
                    let mut t = start;
                    while t < start + TimeDelta::days(4) {
                        let next = w.next_open_in(t, tz);
                        assert!(next >= t && w.is_open_in(next, tz), "{tz} {w:?} {t}");
                        let mut probe = t;
                        while probe < next {
                            assert!(!w.is_open_in(probe, tz), "{tz} {w:?} {t}: open at {probe}, not {next}");
                            probe += TimeDelta::minutes(1);
                        }
                        t += TimeDelta::minutes(37);
                    }
                }
            }
        }
    }

    #[test]
    fn zone_names_typed_in_the_wrong_case_are_understood() {
        let w = SendWindow::business_hours(chrono_tz::UTC);
        for (raw, tz) in [
            ("europe/berlin", Berlin),
            ("AMERICA/NEW_YORK", New_York),
            ("utc", chrono_tz::UTC),
        ] {
            assert_eq!(
                w.zone_for(Some(raw)),
                ResolvedZone {
                    tz,
                    source: ZoneSource::Recipient
                },
                "{raw}"
            );
        }
    }

    #[test]
    fn an_unknown_zone_falls_back_and_says_so() {
        let w = SendWindow::business_hours(Berlin);
        let zone = w.zone_for(Some("Mars/Olympus_Mons"));
        assert_eq!(zone.tz, Berlin);
        assert_eq!(zone.source, ZoneSource::FallbackUnknown("Mars/Olympus_Mons".into()));
        assert!(zone.warning().unwrap().contains("Mars/Olympus_Mons"));
        assert_eq!(w.zone_for(Some(" ")).source, ZoneSource::FallbackMissing);
        assert_eq!(w.zone_for(None).warning(), None);
        let now = utc(2026, 6, 9, 8, 0);
        assert_eq!(w.is_open(now, Some("Mars/Olympus_Mons")), w.is_open_in(now, Berlin));
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
