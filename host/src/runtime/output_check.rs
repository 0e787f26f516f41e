//! The output contract, checked at the boundary: every value a plugin
//! returns is checked here before the host uses it. Numbers that are
//! fractions (a score, a confidence) are finite and within 0..=1, strings
//! hold no NUL and stay under [`MAX_STRING_BYTES`], a referral is to a valid
//! address, a date is a calendar date. A list that answers one entry per
//! input is checked against the input's length by the kind's call
//! ([`InvalidOutput::wrong_length`]).
//!
//! A violation is an [`InvalidOutput`] naming the field (`classify.confidence`,
//! `score[2].value`); the call guard turns it into a `plugin-error`. Field
//! paths are built only when a check fails, so a well-formed output costs
//! one pass over its values.

use crate::domain::email::{EmailError, normalize};

use super::bindings::types::{
    Action, Attribute, Classification, Date, Decision, Enrichment, Lead, LeadMove, LeadPage, PluginInfo, Referral,
    ReplyLabel, Score,
};

/// Longest string a plugin may return in any one field. A field is a name,
/// a reason, a note or an attribute, read by a person or stored in a column;
/// 64 KiB is far past any of those and keeps one field from being a
/// payload. The whole output is capped separately (`max_output_bytes`).
pub const MAX_STRING_BYTES: usize = 64 << 10;

/// What is wrong with one field of a plugin's output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputProblem {
    /// A number that must be a fraction is NaN or infinite.
    #[error("is {0}, not a finite number in 0..=1")]
    NotFinite(f32),
    /// A number outside its range.
    #[error("is {value}, outside {min}..={max}")]
    OutOfRange {
        /// What the plugin returned.
        value: f32,
        /// The smallest value allowed.
        min: f32,
        /// The largest value allowed.
        max: f32,
    },
    /// A string holding a NUL character (which no column, header or log
    /// line should carry).
    #[error("contains a NUL character")]
    Nul,
    /// A string longer than [`MAX_STRING_BYTES`].
    #[error("is {len} bytes long; a field may hold at most {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// An address that is not a usable email address.
    #[error("is not a valid email address")]
    InvalidEmail(#[source] EmailError),
    /// A date that is not on the calendar (February 30th, month 13).
    #[error("is {year:04}-{month:02}-{day:02}, not a calendar date")]
    InvalidDate {
        /// The year returned.
        year: u16,
        /// The month returned.
        month: u8,
        /// The day returned.
        day: u8,
    },
    /// A list that answers one entry per input has another length.
    #[error("has {got} entries for {expected} inputs; the contract is one per input, in order")]
    WrongLength {
        /// Entries returned.
        got: usize,
        /// Inputs sent.
        expected: usize,
    },
}

/// A plugin output that breaks the contract: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct InvalidOutput {
    /// The field's path below the export's result, WIT names: `confidence`,
    /// `[2].value`, `label.referral.email`; empty for the result itself.
    pub field: String,
    /// What is wrong with it.
    #[source]
    pub problem: OutputProblem,
}

impl InvalidOutput {
    /// A problem with the value being checked (its path is added on the way out).
    pub fn new(problem: OutputProblem) -> Self {
        InvalidOutput {
            field: String::new(),
            problem,
        }
    }

    /// A list of `got` entries where one per each of `expected` inputs is due.
    pub fn wrong_length(got: usize, expected: usize) -> Self {
        InvalidOutput::new(OutputProblem::WrongLength { got, expected })
    }

    /// The same problem, found inside the record field `name`.
    fn in_field(mut self, name: &str) -> Self {
        self.field = if self.field.is_empty() || self.field.starts_with('[') {
            format!("{name}{}", self.field)
        } else {
            format!("{name}.{}", self.field)
        };
        self
    }

    /// The same problem, found in entry `index` of a list.
    fn at(mut self, index: usize) -> Self {
        self.field = if self.field.is_empty() || self.field.starts_with('[') {
            format!("[{index}]{}", self.field)
        } else {
            format!("[{index}].{}", self.field)
        };
        self
    }

    /// The field's path under the export's name: `classify.confidence`,
    /// `score[2].value`, or `score` for the result itself.
    pub fn path_under(&self, export: &str) -> String {
        if self.field.is_empty() || self.field.starts_with('[') {
            format!("{export}{}", self.field)
        } else {
            format!("{export}.{}", self.field)
        }
    }
}

/// A value a plugin returns, checked against the output contract.
pub trait CheckOutput {
    /// `Ok` when the value keeps the contract; else the first field that breaks it.
    fn check_output(&self) -> Result<(), InvalidOutput>;
}

/// Checks `value` as the record field `name`.
fn field(name: &str, value: &impl CheckOutput) -> Result<(), InvalidOutput> {
    value.check_output().map_err(|e| e.in_field(name))
}

/// A fraction: finite and within 0..=1.
fn fraction(name: &str, value: f32) -> Result<(), InvalidOutput> {
    let problem = if !value.is_finite() {
        OutputProblem::NotFinite(value)
    } else if !(0.0..=1.0).contains(&value) {
        OutputProblem::OutOfRange {
            value,
            min: 0.0,
            max: 1.0,
        }
    } else {
        return Ok(());
    };
    Err(InvalidOutput::new(problem).in_field(name))
}

/// An email address that normalizes.
fn email(name: &str, address: &str) -> Result<(), InvalidOutput> {
    text(address).map_err(|e| e.in_field(name))?;
    normalize(address)
        .map(drop)
        .map_err(|e| InvalidOutput::new(OutputProblem::InvalidEmail(e)).in_field(name))
}

/// A string: within [`MAX_STRING_BYTES`] and without NUL.
fn text(value: &str) -> Result<(), InvalidOutput> {
    if value.len() > MAX_STRING_BYTES {
        return Err(InvalidOutput::new(OutputProblem::TooLong {
            len: value.len(),
            max: MAX_STRING_BYTES,
        }));
    }
    if value.as_bytes().contains(&0) {
        return Err(InvalidOutput::new(OutputProblem::Nul));
    }
    Ok(())
}

impl CheckOutput for String {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        text(self)
    }
}

impl<T: CheckOutput> CheckOutput for Vec<T> {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        self.iter()
            .enumerate()
            .try_for_each(|(i, item)| item.check_output().map_err(|e| e.at(i)))
    }
}

impl<T: CheckOutput> CheckOutput for Option<T> {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        self.as_ref().map_or(Ok(()), CheckOutput::check_output)
    }
}

/// `ok` and `err` are checked alike, under no name of their own: `[2].value`
/// of a `result<list<score>, string>`, the error text itself for `err`.
impl<T: CheckOutput, E: CheckOutput> CheckOutput for Result<T, E> {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        match self {
            Ok(value) => value.check_output(),
            Err(error) => error.check_output(),
        }
    }
}

/// Numbers and flags with no range of their own.
macro_rules! always_valid {
    ($($ty:ty),*) => {
        $(impl CheckOutput for $ty {
            fn check_output(&self) -> Result<(), InvalidOutput> {
                Ok(())
            }
        })*
    };
}
always_valid!(u32, bool);

impl CheckOutput for Attribute {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("key", &self.key)?;
        field("value", &self.value)
    }
}

impl CheckOutput for PluginInfo {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("name", &self.name)?;
        field("version", &self.version)?;
        field("description", &self.description)
    }
}

/// A lead source's leads: strings are checked; the address itself is the
/// discover step's to normalize (it reports a bad one per lead).
impl CheckOutput for Lead {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("email", &self.email)?;
        field("first-name", &self.first_name)?;
        field("last-name", &self.last_name)?;
        field("company", &self.company)?;
        field("domain", &self.domain)?;
        field("title", &self.title)?;
        field("country", &self.country)?;
        field("timezone", &self.timezone)?;
        field("attributes", &self.attributes)
    }
}

impl CheckOutput for LeadPage {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("leads", &self.leads)?;
        field("next-cursor", &self.next_cursor)
    }
}

impl CheckOutput for Enrichment {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("email", &self.email)?;
        field("company", &self.company)?;
        field("domain", &self.domain)?;
        field("title", &self.title)?;
        field("country", &self.country)?;
        field("attributes", &self.attributes)?;
        field("notes", &self.notes)
    }
}

impl CheckOutput for Score {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        fraction("value", self.value)?;
        field("reasons", &self.reasons)
    }
}

impl CheckOutput for Date {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        let on_calendar =
            chrono::NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), u32::from(self.day)).is_some();
        if on_calendar {
            return Ok(());
        }
        Err(InvalidOutput::new(OutputProblem::InvalidDate {
            year: self.year,
            month: self.month,
            day: self.day,
        }))
    }
}

impl CheckOutput for Referral {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        email("email", &self.email)?;
        field("name", &self.name)
    }
}

impl CheckOutput for ReplyLabel {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        match self {
            ReplyLabel::Referral(referral) => field("referral", referral),
            ReplyLabel::OutOfOffice(date) => field("out-of-office", date),
            ReplyLabel::Interested
            | ReplyLabel::NotInterested
            | ReplyLabel::Question
            | ReplyLabel::Unsubscribe
            | ReplyLabel::Bounce(_)
            | ReplyLabel::AutoReply
            | ReplyLabel::Unknown => Ok(()),
        }
    }
}

impl CheckOutput for Classification {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("label", &self.label)?;
        fraction("confidence", self.confidence)?;
        field("reason", &self.reason)
    }
}

impl CheckOutput for LeadMove {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("email", &self.email)
    }
}

impl CheckOutput for Action {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        match self {
            Action::MoveLead(to) => field("move-lead", to),
            Action::RaiseAlert(text) => field("raise-alert", text),
            Action::PauseCampaign
            | Action::ResumeCampaign
            | Action::CompleteCampaign
            | Action::SetDailyCap(_)
            | Action::Nothing => Ok(()),
        }
    }
}

impl CheckOutput for Decision {
    fn check_output(&self) -> Result<(), InvalidOutput> {
        field("action", &self.action)?;
        field("reason", &self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classification(confidence: f32) -> Classification {
        Classification {
            label: ReplyLabel::Unknown,
            confidence,
            reason: "r".into(),
        }
    }

    #[test]
    fn a_confidence_must_be_a_finite_fraction() {
        assert_eq!(classification(0.0).check_output(), Ok(()));
        assert_eq!(classification(1.0).check_output(), Ok(()));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.5, 1.5] {
            let err = classification(bad).check_output().expect_err("refused");
            assert_eq!(err.path_under("classify"), "classify.confidence", "{bad}");
        }
        let err = classification(f32::NAN).check_output().unwrap_err();
        assert_eq!(err.to_string(), "`confidence` is NaN, not a finite number in 0..=1");
    }

    #[test]
    fn a_bad_field_deep_in_a_list_is_named_by_its_path() {
        let scores: Result<Vec<Score>, String> = Ok(vec![
            Score {
                value: 0.5,
                reasons: vec![],
            },
            Score {
                value: 0.5,
                reasons: vec!["ok".into(), "a\0b".into()],
            },
        ]);
        let err = scores.check_output().unwrap_err();
        assert_eq!(err.path_under("score"), "score[1].reasons[1]");
        assert_eq!(err.problem, OutputProblem::Nul);
        let long: Result<Vec<Score>, String> = Err("x".repeat(MAX_STRING_BYTES + 1));
        assert!(matches!(
            long.check_output().unwrap_err().problem,
            OutputProblem::TooLong { .. }
        ));
        assert_eq!(
            InvalidOutput::wrong_length(2, 3).path_under("score"),
            "score",
            "the list itself"
        );
    }

    #[test]
    fn referrals_must_be_addresses_and_dates_on_the_calendar() {
        let referral = Classification {
            label: ReplyLabel::Referral(Referral {
                email: "nobody".into(),
                name: None,
            }),
            ..classification(0.5)
        };
        let err = referral.check_output().unwrap_err();
        assert_eq!(err.path_under("classify"), "classify.label.referral.email");
        assert!(matches!(err.problem, OutputProblem::InvalidEmail(_)));
        let date = |month, day| Classification {
            label: ReplyLabel::OutOfOffice(Some(Date { year: 2026, month, day })),
            ..classification(0.5)
        };
        assert_eq!(date(2, 28).check_output(), Ok(()));
        let err = date(2, 30).check_output().unwrap_err();
        assert_eq!(err.path_under("classify"), "classify.label.out-of-office");
        assert_eq!(
            err.to_string(),
            "`label.out-of-office` is 2026-02-30, not a calendar date"
        );
        assert!(date(13, 1).check_output().is_err());
    }
}
