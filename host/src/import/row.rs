//! What reading one CSV record yields: a lead to import, or the reason the
//! row was rejected.

use std::borrow::Cow;
use std::fmt;

use crate::domain::email::EmailError;
use crate::domain::suppression::SuppressionHit;
use crate::domain::template::FieldSource;

/// One good row, with the same fields as a lead. Empty strings mean
/// "unknown", as on the plugin boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRow {
    /// Normalized address (trimmed, lower-case, punycode domain).
    pub email: String,
    /// Given name, trimmed.
    pub first_name: String,
    /// Family name, trimmed.
    pub last_name: String,
    /// Company name, trimmed.
    pub company: String,
    /// Company domain, lower-case, without scheme, `www.` or path.
    pub domain: String,
    /// Job title, trimmed.
    pub title: String,
    /// Country: upper-cased when it is a two-letter code, else as written.
    pub country: String,
    /// Time zone as written (an IANA name, ideally; the send window falls
    /// back to the campaign's zone when it is not one).
    pub timezone: String,
    /// Head count when the column held a whole number (`1,200` works); an
    /// unreadable value such as `11-50` is kept as attribute `employees`.
    pub employees: Option<u32>,
    /// Every other non-empty column, keyed by its normalized header.
    pub attributes: Vec<(String, String)>,
}

impl FieldSource for ImportRow {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let known = match name {
            "email" => &self.email,
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "company" => &self.company,
            "domain" => &self.domain,
            "title" => &self.title,
            "country" => &self.country,
            "timezone" => &self.timezone,
            "employees" => return self.employees.map(|n| Cow::Owned(n.to_string())),
            _ => {
                return self
                    .attributes
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| Cow::Borrowed(v.as_str()));
            }
        };
        Some(Cow::Borrowed(known.as_str()))
    }
}

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The email column is empty or absent in this row.
    MissingEmail,
    /// The address is not valid.
    InvalidEmail {
        /// The value as written (shortened when very long).
        value: String,
        /// What is wrong with it.
        error: EmailError,
    },
    /// A field is not valid UTF-8 (the file was probably saved as Latin-1
    /// or Windows-1252).
    NonUtf8Field {
        /// The column's header.
        column: String,
    },
    /// A field is larger than the per-field limit.
    FieldTooLarge {
        /// The column's header.
        column: String,
        /// The field's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The record has more columns than any real export (a runaway line).
    TooManyColumns {
        /// How many it has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The address already appeared earlier in the file.
    Duplicate {
        /// The line where it first appeared.
        first_line: u64,
    },
    /// The address or its domain is suppressed for this tenant.
    Suppressed(SuppressionHit),
}

impl RejectReason {
    /// A stable short name for counting and machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::MissingEmail => "missing_email",
            RejectReason::InvalidEmail { .. } => "invalid_email",
            RejectReason::NonUtf8Field { .. } => "non_utf8",
            RejectReason::FieldTooLarge { .. } => "field_too_large",
            RejectReason::TooManyColumns { .. } => "too_many_columns",
            RejectReason::Duplicate { .. } => "duplicate",
            RejectReason::Suppressed(_) => "suppressed",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::MissingEmail => f.write_str("no email address"),
            RejectReason::InvalidEmail { value, error } => {
                write!(f, "invalid email {value:?}: {error}")
            }
            RejectReason::NonUtf8Field { column } => write!(
                f,
                "column {column:?} is not valid UTF-8 text; save the file as UTF-8 and import it again"
            ),
            RejectReason::FieldTooLarge { column, bytes, limit } => write!(
                f,
                "column {column:?} holds {bytes} bytes, more than the {limit}-byte limit per field"
            ),
            RejectReason::TooManyColumns { count, limit } => {
                write!(f, "the row has {count} columns, more than the limit of {limit}")
            }
            RejectReason::Duplicate { first_line } => {
                write!(f, "the same address is already on line {first_line}")
            }
            RejectReason::Suppressed(hit) => write!(f, "{hit}; it will not be contacted"),
        }
    }
}

/// The result of reading one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// A lead to import.
    Accepted {
        /// The physical line where the record starts (1 is the header).
        line: u64,
        /// The lead.
        row: ImportRow,
    },
    /// A row that will not be imported, and why.
    Rejected {
        /// The physical line where the record starts.
        line: u64,
        /// Why.
        reason: RejectReason,
    },
}

impl RowOutcome {
    /// The physical line where the record starts.
    pub fn line(&self) -> u64 {
        match self {
            RowOutcome::Accepted { line, .. } | RowOutcome::Rejected { line, .. } => *line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::template::Template;

    #[test]
    fn an_import_row_fills_templates_from_fields_and_attributes() {
        let row = ImportRow {
            first_name: "Anna".into(),
            employees: Some(40),
            attributes: vec![("industry".into(), "logistics".into())],
            ..ImportRow::default()
        };
        let t = Template::parse("t", "{{first_name}} {{employees}} {{industry}} {{title|-}}").unwrap();
        assert_eq!(t.render(&row).unwrap(), "Anna 40 logistics -");
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = RejectReason::Duplicate { first_line: 7 };
        assert_eq!(r.to_string(), "the same address is already on line 7");
        assert_eq!(r.kind(), "duplicate");
    }
}
