//! Return dates in out-of-office replies, in English, German, French and
//! Spanish: "back on March 3rd", "until 12.03.2026", "ab dem 3. März",
//! "de retour le 3 mars", "hasta el 3 de marzo", "2026-03-03".
//!
//! Numeric dates are read day first (`12.03.` and `12/03` are 12 March)
//! unless the second number cannot be a month (`03/12/2026` stays 3 December,
//! `03/25/2026` is 25 March). A date without a year takes the year that puts
//! it on or after the day the reply arrived (allowing a month of slack for
//! stale auto-replies), so "back January 5" received in December is next year.

use crate::text::{find_phrase, is_word_char};

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ymd {
    /// Year.
    pub year: i32,
    /// Month 1..=12.
    pub month: u32,
    /// Day 1..=31.
    pub day: u32,
}

/// How far in the past a yearless date may lie and still mean this year.
const STALE_DAYS: i64 = 31;

/// Words after which a date is the return date rather than, say, the first
/// day away.
const RETURN_WORDS: &[&str] = &[
    "back",
    "return",
    "returning",
    "returns",
    "return on",
    "until",
    "till",
    "through",
    "wieder",
    "zurück",
    "bis",
    "ab",
    "ab dem",
    "ab dem",
    "retour",
    "jusqu'au",
    "jusqu'à",
    "à partir du",
    "de vuelta",
    "regreso",
    "regresaré",
    "volveré",
    "vuelvo",
    "hasta",
    "a partir del",
];

/// The return date the text gives, if any, resolved against `received`.
pub fn return_date(text: &str, received: Ymd) -> Option<Ymd> {
    let found = find_dates(text, received);
    let upcoming = |d: &&(usize, Ymd)| days(d.1) >= days(received) - STALE_DAYS;
    // A date right after a return word wins; otherwise the latest upcoming one.
    found
        .iter()
        .filter(upcoming)
        .find(|(at, _)| follows_return_word(text, *at))
        .or_else(|| found.iter().filter(upcoming).max_by_key(|(_, d)| *d))
        .map(|(_, d)| *d)
}

/// The next `weekday` after `received` when the text says "back on Monday"
/// (or "wieder am Montag", "de retour lundi", "vuelvo el lunes") and gives
/// no date.
pub fn return_weekday(text: &str, received: Ymd) -> Option<Ymd> {
    const WEEKDAYS: &[(&str, i64)] = &[
        ("sunday", 0),
        ("monday", 1),
        ("tuesday", 2),
        ("wednesday", 3),
        ("thursday", 4),
        ("friday", 5),
        ("saturday", 6),
        ("sonntag", 0),
        ("montag", 1),
        ("dienstag", 2),
        ("mittwoch", 3),
        ("donnerstag", 4),
        ("freitag", 5),
        ("samstag", 6),
        ("sonnabend", 6),
        ("dimanche", 0),
        ("lundi", 1),
        ("mardi", 2),
        ("mercredi", 3),
        ("jeudi", 4),
        ("vendredi", 5),
        ("samedi", 6),
        ("domingo", 0),
        ("lunes", 1),
        ("martes", 2),
        ("miércoles", 3),
        ("miercoles", 3),
        ("jueves", 4),
        ("viernes", 5),
        ("sábado", 6),
        ("sabado", 6),
    ];
    let (_, weekday) = WEEKDAYS
        .iter()
        .filter_map(|(name, day)| find_phrase(text, name).map(|at| (at, *day)))
        .filter(|(at, _)| follows_return_word(text, *at))
        .min_by_key(|(at, _)| *at)?;
    let today = days(received);
    // 1970-01-01 was a Thursday (4).
    let today_weekday = (today + 4).rem_euclid(7);
    let ahead = (weekday - today_weekday).rem_euclid(7);
    let ahead = if ahead == 0 { 7 } else { ahead };
    Some(from_days(today + ahead))
}

fn follows_return_word(text: &str, at: usize) -> bool {
    let start = text[..at].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
    let window = &text[start..at];
    RETURN_WORDS.iter().any(|w| find_phrase(window, w).is_some())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Num(u32, usize),
    Word(&'a str),
    Punct(char),
}

#[derive(Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    at: usize,
    /// No whitespace between this token and the previous one.
    glued: bool,
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut glued = false;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            glued = false;
            continue;
        }
        if c.is_ascii_digit() {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                end = j + 1;
                chars.next();
            }
            let digits = &text[i..end];
            let value = digits.parse().unwrap_or(u32::MAX);
            tokens.push(Token {
                tok: Tok::Num(value, digits.len()),
                at: i,
                glued,
            });
        } else if is_word_char(c) {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if !is_word_char(d) || d.is_ascii_digit() {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            tokens.push(Token {
                tok: Tok::Word(&text[i..end]),
                at: i,
                glued,
            });
        } else {
            chars.next();
            tokens.push(Token {
                tok: Tok::Punct(c),
                at: i,
                glued,
            });
        }
        glued = true;
    }
    tokens
}

/// The month a (lower-case) word names, in any of the four languages.
fn month(word: &str) -> Option<u32> {
    let word = word.trim_end_matches('.');
    let m = match word {
        "january" | "jan" | "januar" | "jänner" | "janvier" | "janv" | "enero" | "ene" => 1,
        "february" | "feb" | "februar" | "février" | "fevrier" | "févr" | "fevr" | "febrero" => 2,
        "march" | "mar" | "märz" | "maerz" | "mär" | "mars" | "marzo" => 3,
        "april" | "apr" | "avril" | "avr" | "abril" | "abr" => 4,
        "may" | "mai" | "mayo" | "may." => 5,
        "june" | "jun" | "juni" | "juin" | "junio" => 6,
        "july" | "jul" | "juli" | "juillet" | "juil" | "julio" => 7,
        "august" | "aug" | "août" | "aout" | "agosto" | "ago" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "oktober" | "okt" | "octobre" | "octubre" => 10,
        "november" | "nov" | "novembre" | "noviembre" => 11,
        "december" | "dec" | "dezember" | "dez" | "décembre" | "decembre" | "diciembre" | "dic" => 12,
        _ => return None,
    };
    Some(m)
}

/// Ordinal suffixes glued to a day number: 3rd, 1er, 3e, 3º.
fn is_ordinal_suffix(word: &str) -> bool {
    matches!(word, "st" | "nd" | "rd" | "th" | "er" | "e" | "ème" | "o" | "º")
}

/// Every date in `text` with its byte offset, years resolved against `received`.
pub fn find_dates(text: &str, received: Ymd) -> Vec<(usize, Ymd)> {
    let t = tokenize(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if let Some((date, used)) = numeric_date(&t[i..], received)
            .or_else(|| day_first_date(&t[i..], received))
            .or_else(|| month_first_date(&t[i..], received))
        {
            out.push((t[i].at, date));
            i += used;
        } else {
            i += 1;
        }
    }
    out
}

fn num(t: &[Token<'_>], i: usize) -> Option<(u32, usize)> {
    match t.get(i)?.tok {
        Tok::Num(v, len) => Some((v, len)),
        _ => None,
    }
}

fn punct_glued(t: &[Token<'_>], i: usize, allowed: &[char]) -> Option<char> {
    let token = t.get(i)?;
    match token.tok {
        Tok::Punct(c) if token.glued && allowed.contains(&c) => Some(c),
        _ => None,
    }
}

fn word<'a>(t: &[Token<'a>], i: usize) -> Option<&'a str> {
    match t.get(i)?.tok {
        Tok::Word(w) => Some(w),
        _ => None,
    }
}

fn glued(t: &[Token<'_>], i: usize) -> bool {
    t.get(i).is_some_and(|token| token.glued)
}

/// `2026-03-12`, `12.03.2026`, `12.03.26`, `12.03.`, `12/03/2026`, `12/03`.
fn numeric_date(t: &[Token<'_>], received: Ymd) -> Option<(Ymd, usize)> {
    let (a, a_len) = num(t, 0)?;
    let sep = punct_glued(t, 1, &['.', '/', '-'])?;
    let (b, b_len) = num(t, 2).filter(|_| glued(t, 2))?;
    if sep == '-' {
        // Only ISO dates use dashes here.
        let (c, _) = num(t, 4).filter(|_| punct_glued(t, 3, &['-']).is_some() && glued(t, 4))?;
        if a_len != 4 {
            return None;
        }
        return make(Some(a), b, c, received).map(|d| (d, 5));
    }
    let (day, month_no) = if sep == '/' && b > 12 && a <= 12 {
        (b, a)
    } else {
        (a, b)
    };
    let year_follows = punct_glued(t, 3, &[sep]).is_some() && glued(t, 4);
    if let (true, Some((y, y_len))) = (year_follows, num(t, 4)) {
        let year = match y_len {
            4 => y,
            2 => 2000 + y,
            _ => return None,
        };
        return make(Some(year), month_no, day, received).map(|d| (d, 5));
    }
    // A yearless dotted date needs a two-digit month or a closing dot
    // (`12.03`, `3.3.`), so decimals such as `2.5` are not dates.
    let closing_dot = punct_glued(t, 3, &['.']).is_some();
    if sep == '.' && b_len < 2 && !closing_dot {
        return None;
    }
    let used = if closing_dot { 4 } else { 3 };
    make(None, month_no, day, received).map(|d| (d, used))
}

/// `3 March`, `3rd of March 2026`, `3. März`, `3 mars 2026`, `3 de marzo de 2026`, `1er avril`.
fn day_first_date(t: &[Token<'_>], received: Ymd) -> Option<(Ymd, usize)> {
    let (day, day_len) = num(t, 0)?;
    if day_len > 2 {
        return None;
    }
    let mut i = 1;
    if word(t, i).is_some_and(is_ordinal_suffix) && glued(t, i) {
        i += 1;
    }
    if punct_glued(t, i, &['.']).is_some() {
        i += 1;
    }
    if word(t, i).is_some_and(|w| w == "of" || w == "de") {
        i += 1;
    }
    let month_no = month(word(t, i)?)?;
    i += 1;
    if punct_glued(t, i, &['.']).is_some() {
        i += 1;
    }
    let (year, used) = year_after(t, i);
    make(year, month_no, day, received).map(|d| (d, used))
}

/// `March 3rd`, `March 3, 2026`, `Mar. 3`.
fn month_first_date(t: &[Token<'_>], received: Ymd) -> Option<(Ymd, usize)> {
    let month_no = month(word(t, 0)?)?;
    let mut i = 1;
    if punct_glued(t, i, &['.']).is_some() {
        i += 1;
    }
    let (day, day_len) = num(t, i)?;
    if day_len > 2 {
        return None;
    }
    i += 1;
    if word(t, i).is_some_and(is_ordinal_suffix) && glued(t, i) {
        i += 1;
    }
    let (year, used) = year_after(t, i);
    make(year, month_no, day, received).map(|d| (d, used))
}

/// An optional `[,] [de] 2026` at `i`; returns the year and tokens used so far.
fn year_after(t: &[Token<'_>], i: usize) -> (Option<u32>, usize) {
    let mut j = i;
    if matches!(t.get(j).map(|x| &x.tok), Some(Tok::Punct(','))) {
        j += 1;
    }
    if word(t, j).is_some_and(|w| w == "de" || w == "del") {
        j += 1;
    }
    match num(t, j) {
        Some((y, 4)) => (Some(y), j + 1),
        _ => (None, i),
    }
}

fn make(year: Option<u32>, month: u32, day: u32, received: Ymd) -> Option<Ymd> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(2000, month) {
        return None;
    }
    let date = match year {
        Some(y) => {
            let year = i32::try_from(y).ok().filter(|y| (1970..=9999).contains(y))?;
            Ymd { year, month, day }
        }
        None => {
            let this_year = Ymd {
                year: received.year,
                month,
                day,
            };
            if days(this_year) >= days(received) - STALE_DAYS {
                this_year
            } else {
                Ymd {
                    year: received.year + 1,
                    month,
                    day,
                }
            }
        }
    };
    (date.day <= days_in_month(date.year, date.month)).then_some(date)
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
pub fn days(d: Ymd) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC calendar date of a Unix time in seconds.
pub fn from_unix(secs: i64) -> Ymd {
    from_days(secs.div_euclid(86_400))
}

/// The date `days` after 1970-01-01.
fn from_days(days: i64) -> Ymd {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ymd {
        year: i32::try_from(year).unwrap_or(i32::MAX),
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVED: Ymd = Ymd {
        year: 2026,
        month: 2,
        day: 20,
    };

    fn ymd(year: i32, month: u32, day: u32) -> Ymd {
        Ymd { year, month, day }
    }

    fn back(text: &str) -> Option<Ymd> {
        return_date(&text.to_lowercase(), RECEIVED)
    }

    #[test]
    fn english_formats() {
        assert_eq!(back("I'm back on March 3rd."), Some(ymd(2026, 3, 3)));
        assert_eq!(back("Back on 3 March"), Some(ymd(2026, 3, 3)));
        assert_eq!(back("returning March 3, 2027"), Some(ymd(2027, 3, 3)));
        assert_eq!(back("out until the 3rd of March"), Some(ymd(2026, 3, 3)));
        assert_eq!(back("back Mar. 3"), Some(ymd(2026, 3, 3)));
        assert_eq!(back("back on 2026-03-03"), Some(ymd(2026, 3, 3)));
    }

    #[test]
    fn german_formats() {
        assert_eq!(back("Ich bin bis 12.03.2026 nicht im Büro."), Some(ymd(2026, 3, 12)));
        assert_eq!(back("Ab dem 3. März bin ich wieder erreichbar."), Some(ymd(2026, 3, 3)));
        assert_eq!(back("wieder da am 13.03."), Some(ymd(2026, 3, 13)));
        assert_eq!(back("bis zum 12.03.26"), Some(ymd(2026, 3, 12)));
    }

    #[test]
    fn french_formats() {
        assert_eq!(back("Je serai de retour le 3 mars."), Some(ymd(2026, 3, 3)));
        assert_eq!(back("absent jusqu'au 1er avril 2026"), Some(ymd(2026, 4, 1)));
        assert_eq!(back("de retour le 13/03"), Some(ymd(2026, 3, 13)));
    }

    #[test]
    fn spanish_formats() {
        assert_eq!(back("Estaré fuera hasta el 3 de marzo."), Some(ymd(2026, 3, 3)));
        assert_eq!(back("regreso el 4 de marzo de 2026"), Some(ymd(2026, 3, 4)));
    }

    #[test]
    fn a_missing_year_rolls_over_to_next_year() {
        let december = Ymd {
            year: 2026,
            month: 12,
            day: 20,
        };
        assert_eq!(return_date("back on january 5", december), Some(ymd(2027, 1, 5)));
        assert_eq!(return_date("back on december 28", december), Some(ymd(2026, 12, 28)));
    }

    #[test]
    fn the_return_date_beats_the_first_day_away() {
        assert_eq!(
            back("Out from February 21 to March 2, back March 3."),
            Some(ymd(2026, 3, 3))
        );
        assert_eq!(back("Away February 21 - March 2"), Some(ymd(2026, 3, 2)));
    }

    #[test]
    fn us_style_dates_are_read_when_the_day_cannot_be_a_month() {
        assert_eq!(back("back 03/25/2026"), Some(ymd(2026, 3, 25)));
        assert_eq!(back("back 03/12/2026"), Some(ymd(2026, 12, 3)));
    }

    #[test]
    fn times_versions_and_impossible_dates_are_not_dates() {
        assert_eq!(back("call me at 10.30 or 2.5 times"), None);
        assert_eq!(back("back 31.02.2026"), None);
        assert_eq!(back("version 1.2.3"), None);
    }

    #[test]
    fn a_return_weekday_is_the_next_such_day() {
        // RECEIVED, 2026-02-20, is a Friday.
        let on = |text: &str| return_weekday(text, RECEIVED);
        assert_eq!(on("back on monday"), Some(ymd(2026, 2, 23)));
        assert_eq!(on("ab montag wieder im büro"), Some(ymd(2026, 2, 23)));
        assert_eq!(on("wieder da am montag"), Some(ymd(2026, 2, 23)));
        assert_eq!(on("de retour vendredi"), Some(ymd(2026, 2, 27)));
        assert_eq!(on("vuelvo el jueves"), Some(ymd(2026, 2, 26)));
        assert_eq!(on("i left on monday"), None);
    }

    #[test]
    fn leap_days_are_dates_in_leap_years_only() {
        assert_eq!(back("back 29.02.2028"), Some(ymd(2028, 2, 29)));
        assert_eq!(back("back 29.02.2027"), None);
    }

    #[test]
    fn unix_times_convert_to_calendar_dates_and_back() {
        assert_eq!(from_unix(0), ymd(1970, 1, 1));
        assert_eq!(from_unix(1_771_545_600), ymd(2026, 2, 20));
        assert_eq!(days(ymd(2026, 2, 20)) * 86_400, 1_771_545_600);
        assert_eq!(from_unix(-1), ymd(1969, 12, 31));
    }
}
