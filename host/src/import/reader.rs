//! The streaming reader: one record in memory at a time, one outcome out.

use std::collections::HashMap;
use std::io::Read;

use super::columns::{ColumnPlan, ColumnWarning, LeadField, Target};
use super::record::{MAX_COLUMNS, Overflow, RawRecord, RecordReader};
use super::row::{ImportRow, RejectReason, RowOutcome};
use super::seen::SeenAddresses;
use crate::domain::email::normalize;
use crate::domain::suppression::SuppressionList;

/// The default per-field limit. Real lead fields are short; 64 KiB leaves
/// room for long notes while a runaway field (an unclosed quote swallowing
/// the rest of a file, a pasted document) rejects only its own row.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 64 * 1024;

/// How long an invalid address may be when quoted back in a rejection.
const MAX_QUOTED_VALUE_CHARS: usize = 100;

/// How to read a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Column name → lead field name, attribute key, or `-` to skip it.
    /// Applied before the built-in header aliases.
    pub mapping: HashMap<String, String>,
    /// Rows with a larger field are rejected.
    pub max_field_bytes: usize,
    /// The field separator (`b','`; `b';'` for many European spreadsheets).
    pub delimiter: u8,
    /// The tenant's suppressed addresses and domains; matching rows are
    /// rejected as [`RejectReason::Suppressed`].
    pub suppression: SuppressionList,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            mapping: HashMap::new(),
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            delimiter: b',',
            suppression: SuppressionList::new(),
        }
    }
}

/// Why a whole file cannot be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Not even a header row.
    #[error("the file is empty: expected a header row such as \"email,first_name,company\"")]
    Empty,
    /// No column holds email addresses.
    #[error(
        "no email column among the headers {headers:?}: name one \"email\" or map a column to email{}",
        if *.looks_semicolon_separated { " (the file looks semicolon-separated: set the delimiter to ';')" } else { "" }
    )]
    NoEmailColumn {
        /// The headers found.
        headers: Vec<String>,
        /// True when the header row holds `;`, a hint for the user.
        looks_semicolon_separated: bool,
    },
    /// The header row is larger than the field or column limits allow.
    #[error("the header row is too large ({0}); is the first line really a header?")]
    HeaderTooLarge(String),
    /// Reading failed (a disk or network error, not bad content).
    #[error("reading the file failed near line {line}")]
    Read {
        /// The line being read.
        line: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads leads from CSV one record at a time.
///
/// Iterating yields one [`RowOutcome`] per record; an `Err` means the input
/// could not be read any further (and is the last item). The reader holds
/// one record at a time and keeps at most `max_field_bytes` of a field and
/// [`MAX_COLUMNS`] columns of a record, so memory stays flat whatever the
/// input, even a quote that never closes, apart from a 16-byte entry per
/// distinct address for the in-file dedupe, unless that is turned off
/// ([`LeadImport::dedupe_in_file`]). See [`LeadImport::bytes_read`] for
/// progress.
///
/// Bad content never stops the file: non-UTF-8 bytes, oversized fields,
/// short and long rows each affect only their own row. A UTF-8 byte-order
/// mark is skipped, quoted fields may span lines, blank lines are skipped,
/// and line numbers are the physical line where each record starts.
pub struct LeadImport<R: Read> {
    reader: RecordReader<R>,
    record: RawRecord,
    plan: ColumnPlan,
    email_column: usize,
    max_field_bytes: usize,
    suppression: SuppressionList,
    /// The in-file dedupe set; `None` when the caller dedupes elsewhere.
    seen: Option<SeenAddresses>,
    failed: bool,
}

impl<R: Read> LeadImport<R> {
    /// Reads the header row of `input` and plans the columns.
    pub fn new(input: R, options: ImportOptions) -> Result<Self, ImportError> {
        let mut reader = RecordReader::new(input, options.delimiter, options.max_field_bytes);
        let mut record = RawRecord::default();
        let found = reader
            .read(&mut record)
            .map_err(|source| ImportError::Read { line: 1, source })?;
        if !found {
            return Err(ImportError::Empty);
        }
        match record.overflow() {
            Some(Overflow::Field { column, bytes }) => {
                return Err(ImportError::HeaderTooLarge(format!(
                    "column {} holds {bytes} bytes",
                    column + 1
                )));
            }
            Some(Overflow::Columns { count }) => {
                return Err(ImportError::HeaderTooLarge(format!(
                    "{count} columns, more than {MAX_COLUMNS}"
                )));
            }
            None => {}
        }
        let headers: Vec<String> = record.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
        if headers.iter().all(|h| h.trim().is_empty()) {
            return Err(ImportError::Empty);
        }
        let plan = ColumnPlan::new(&headers, &options.mapping);
        let Some(email_column) = plan.email else {
            return Err(ImportError::NoEmailColumn {
                looks_semicolon_separated: options.delimiter != b';' && headers.iter().any(|h| h.contains(';')),
                headers,
            });
        };
        Ok(Self {
            reader,
            record,
            plan,
            email_column,
            max_field_bytes: options.max_field_bytes,
            suppression: options.suppression,
            seen: Some(SeenAddresses::default()),
            failed: false,
        })
    }

    /// Whether to reject an address repeated within the file (on by
    /// default). The set that catches repeats is the one thing the reader
    /// keeps per row — a 16-byte digest per distinct address — so
    /// [`super::import_leads`] turns it off and lets the database's unique
    /// index catch them instead, in flat memory (except in a dry run, which
    /// writes nothing to catch them with).
    #[must_use]
    pub fn dedupe_in_file(mut self, on: bool) -> Self {
        if on {
            self.seen.get_or_insert_with(SeenAddresses::default);
        } else {
            self.seen = None;
        }
        self
    }

    /// How the file's columns are read (for the CLI to show).
    pub fn plan(&self) -> &ColumnPlan {
        &self.plan
    }

    /// What was odd about the header row.
    pub fn warnings(&self) -> &[ColumnWarning] {
        &self.plan.warnings
    }

    /// Bytes of input consumed so far, for a progress bar against the file
    /// size.
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// Turns the current record into an outcome.
    fn outcome(&mut self, line: u64) -> RowOutcome {
        match self.read_row(line) {
            Ok(row) => RowOutcome::Accepted { line, row },
            Err(reason) => RowOutcome::Rejected { line, reason },
        }
    }

    fn read_row(&mut self, line: u64) -> Result<ImportRow, RejectReason> {
        match self.record.overflow() {
            Some(Overflow::Field { column, bytes }) => {
                return Err(RejectReason::FieldTooLarge {
                    column: self.plan.header(column),
                    bytes,
                    limit: self.max_field_bytes,
                });
            }
            Some(Overflow::Columns { count }) => {
                return Err(RejectReason::TooManyColumns {
                    count,
                    limit: MAX_COLUMNS,
                });
            }
            None => {}
        }
        // Check the whole record first so a reason never depends on which
        // column happens to be read first.
        for (index, field) in self.record.iter().enumerate() {
            if self.plan.columns.get(index).map(|c| &c.target) == Some(&Target::Ignore) {
                continue;
            }
            if field.len() > self.max_field_bytes {
                return Err(RejectReason::FieldTooLarge {
                    column: self.plan.header(index),
                    bytes: field.len(),
                    limit: self.max_field_bytes,
                });
            }
            if std::str::from_utf8(field).is_err() {
                return Err(RejectReason::NonUtf8Field {
                    column: self.plan.header(index),
                });
            }
        }
        let raw_email = self.text(self.email_column);
        if raw_email.is_empty() {
            return Err(RejectReason::MissingEmail);
        }
        let email = normalize(raw_email).map_err(|error| RejectReason::InvalidEmail {
            value: raw_email.chars().take(MAX_QUOTED_VALUE_CHARS).collect(),
            error,
        })?;
        if let Some(hit) = self.suppression.check(&email) {
            return Err(RejectReason::Suppressed(hit));
        }
        if let Some(first_line) = self
            .seen
            .as_mut()
            .and_then(|seen| seen.first_seen_at(email.as_str(), line))
        {
            return Err(RejectReason::Duplicate { first_line });
        }

        let mut row = ImportRow {
            email: email.into_string(),
            ..ImportRow::default()
        };
        for index in 0..self.record.len() {
            let value = self.text(index);
            if value.is_empty() {
                continue;
            }
            let target = self.plan.columns.get(index).map(|c| &c.target);
            match target {
                Some(Target::Ignore) | Some(Target::Field(LeadField::Email)) => {}
                Some(Target::Field(field)) => set_field(&mut row, *field, value),
                Some(Target::Attribute(key)) => {
                    row.attributes.push((key.clone(), value.to_owned()));
                }
                None => row
                    .attributes
                    .push((ColumnPlan::extra_column_key(index), value.to_owned())),
            }
        }
        Ok(row)
    }

    /// Field `index` of the current record, trimmed; empty when absent.
    /// Only called after the record was checked to be UTF-8.
    fn text(&self, index: usize) -> &str {
        self.record
            .get(index)
            .and_then(|f| std::str::from_utf8(f).ok())
            .map_or("", str::trim)
    }
}

impl<R: Read> Iterator for LeadImport<R> {
    type Item = Result<RowOutcome, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.reader.read(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.line();
                Some(Ok(self.outcome(line)))
            }
            Err(source) => {
                self.failed = true;
                Some(Err(ImportError::Read {
                    line: self.record.line(),
                    source,
                }))
            }
        }
    }
}

/// Stores a trimmed, non-empty value in a lead field, cleaning it the way
/// the field needs.
fn set_field(row: &mut ImportRow, field: LeadField, value: &str) {
    let value = value.to_owned();
    match field {
        LeadField::Email => row.email = value,
        LeadField::FirstName => row.first_name = value,
        LeadField::LastName => row.last_name = value,
        LeadField::Company => row.company = value,
        LeadField::Domain => row.domain = clean_domain(&value),
        LeadField::Title => row.title = value,
        LeadField::Country => row.country = clean_country(value),
        LeadField::Timezone => row.timezone = value,
        LeadField::Employees => match parse_employees(&value) {
            Some(n) => row.employees = Some(n),
            None => row.attributes.push(("employees".to_owned(), value)),
        },
    }
}

/// `https://www.Acme.com/about` → `acme.com`.
fn clean_domain(value: &str) -> String {
    let lower = value.to_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.trim_end_matches('.').to_owned()
}

/// Two-letter codes are upper-cased (`de` → `DE`); names stay as written.
fn clean_country(value: String) -> String {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        value.to_ascii_uppercase()
    } else {
        value
    }
}

/// A whole head count: `1200`, `1,200`, `1 200`, `1_200`.
fn parse_employees(value: &str) -> Option<u32> {
    let digits: String = value.chars().filter(|c| !matches!(c, ',' | '_' | ' ' | '\'')).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_lose_scheme_www_and_path() {
        assert_eq!(clean_domain("https://www.Acme.com/about?x=1"), "acme.com");
        assert_eq!(clean_domain("acme.io."), "acme.io");
    }

    #[test]
    fn head_counts_accept_thousands_separators_only() {
        assert_eq!(parse_employees("1,200"), Some(1200));
        assert_eq!(parse_employees("45"), Some(45));
        assert_eq!(parse_employees("11-50"), None);
        assert_eq!(parse_employees("-3"), None);
    }

    #[test]
    fn two_letter_countries_are_upper_cased() {
        assert_eq!(clean_country("de".into()), "DE");
        assert_eq!(clean_country("Germany".into()), "Germany");
    }
}
