//! Mapping CSV headers to lead fields.
//!
//! Headers are compared in a normalized form (trimmed, lower-case, runs of
//! anything but letters and digits turned into one `_`), so `First Name`,
//! `first-name` and `FIRST_NAME` are the same column. Each column goes to
//! one of: a lead field (by the user's mapping first, then by the built-in
//! aliases), an attribute named after its header, or nowhere (a user mapping
//! to `-`).
//!
//! Duplicate headers are not an error, because refusing the file would lose
//! every good row in it: the first column wins the field, and each later
//! duplicate is kept as an attribute named `<header>_<column number>` and
//! reported as a [`ColumnWarning`].

use std::collections::{HashMap, HashSet};
use std::fmt;

/// A lead field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadField {
    /// The address (required).
    Email,
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Company name.
    Company,
    /// Company domain.
    Domain,
    /// Job title.
    Title,
    /// Country.
    Country,
    /// IANA time zone.
    Timezone,
    /// Company head count.
    Employees,
}

/// Every field with the header names (normalized) that map to it by default.
const ALIASES: &[(LeadField, &[&str])] = &[
    (
        LeadField::Email,
        &["email", "e_mail", "mail", "email_address", "e_mail_address"],
    ),
    (
        LeadField::FirstName,
        &["first_name", "firstname", "first", "given_name"],
    ),
    (
        LeadField::LastName,
        &["last_name", "lastname", "last", "surname", "family_name"],
    ),
    (
        LeadField::Company,
        &["company", "company_name", "organization", "organisation"],
    ),
    (LeadField::Domain, &["domain", "company_domain", "website"]),
    (LeadField::Title, &["title", "job_title", "position"]),
    (LeadField::Country, &["country", "country_code"]),
    (LeadField::Timezone, &["timezone", "tz", "time_zone"]),
    (
        LeadField::Employees,
        &["employees", "employee_count", "company_size", "headcount"],
    ),
];

impl LeadField {
    /// The field's canonical name, as used in mappings and templates.
    pub fn name(self) -> &'static str {
        match self {
            LeadField::Email => "email",
            LeadField::FirstName => "first_name",
            LeadField::LastName => "last_name",
            LeadField::Company => "company",
            LeadField::Domain => "domain",
            LeadField::Title => "title",
            LeadField::Country => "country",
            LeadField::Timezone => "timezone",
            LeadField::Employees => "employees",
        }
    }

    /// The field a header names by default, if any.
    pub fn from_header(header: &str) -> Option<LeadField> {
        let key = normalize_header(header);
        ALIASES
            .iter()
            .find(|(_, names)| names.contains(&key.as_str()))
            .map(|(field, _)| *field)
    }
}

impl fmt::Display for LeadField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one column's values go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A lead field.
    Field(LeadField),
    /// An attribute with this key.
    Attribute(String),
    /// Nowhere: the user mapped the column to `-`.
    Ignore,
}

/// One column of the file and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header as written (lossily decoded if it was not UTF-8).
    pub header: String,
    /// Where its values go.
    pub target: Target,
}

/// Something odd about the header row that did not stop the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnWarning {
    /// Two columns map to the same field (or attribute); the first wins.
    Duplicate {
        /// The header of the later column.
        header: String,
        /// 1-based number of the column that won.
        first_column: usize,
        /// 1-based number of the later column.
        column: usize,
        /// The attribute the later column is kept as.
        kept_as: String,
    },
    /// The user mapping names a column the file does not have.
    UnusedMapping {
        /// The mapped column name.
        column: String,
    },
}

impl fmt::Display for ColumnWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnWarning::Duplicate {
                header,
                first_column,
                column,
                kept_as,
            } => write!(
                f,
                "column {column} ({header:?}) repeats column {first_column}; \
                 column {first_column} is used and column {column} is kept as attribute {kept_as:?}"
            ),
            ColumnWarning::UnusedMapping { column } => {
                write!(f, "the mapping names column {column:?}, which the file does not have")
            }
        }
    }
}

/// How every column of a file is read.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// The file's columns, in order.
    pub columns: Vec<Column>,
    /// The index of the email column, if there is one.
    pub email: Option<usize>,
    /// What was odd about the headers.
    pub warnings: Vec<ColumnWarning>,
}

impl ColumnPlan {
    /// Plans the columns for `headers` under `mapping` (column name → field
    /// name, attribute key, or `-` to ignore; names compared normalized).
    pub fn new(headers: &[String], mapping: &HashMap<String, String>) -> Self {
        let mapping: HashMap<String, &str> = mapping
            .iter()
            .map(|(column, target)| (normalize_header(column), target.trim()))
            .collect();
        let mut used_mappings = HashSet::new();
        // Which column first claimed each field or attribute key.
        let mut claimed: HashMap<String, usize> = HashMap::new();
        let mut columns = Vec::with_capacity(headers.len());
        let mut warnings = Vec::new();
        let mut email = None;

        for (index, header) in headers.iter().enumerate() {
            let key = normalize_header(header);
            let target = match mapping.get(&key) {
                Some(&"-") => {
                    used_mappings.insert(key.clone());
                    Target::Ignore
                }
                Some(&to) => {
                    used_mappings.insert(key.clone());
                    match LeadField::from_header(to) {
                        Some(field) => Target::Field(field),
                        None => Target::Attribute(attribute_key(to, index)),
                    }
                }
                None => match LeadField::from_header(&key) {
                    Some(field) => Target::Field(field),
                    None => Target::Attribute(attribute_key(&key, index)),
                },
            };
            let claim_key = match &target {
                Target::Ignore => None,
                Target::Field(f) => Some(f.name().to_owned()),
                Target::Attribute(k) => Some(k.clone()),
            };
            let target = match claim_key {
                None => target,
                Some(k) => claim(&mut claimed, &k, index, header, target, &mut warnings),
            };
            if target == Target::Field(LeadField::Email) {
                email = Some(index);
            }
            columns.push(Column {
                header: header.clone(),
                target,
            });
        }
        let mut unused: Vec<_> = mapping
            .keys()
            .filter(|k| !used_mappings.contains(*k))
            .cloned()
            .collect();
        unused.sort();
        warnings.extend(unused.into_iter().map(|column| ColumnWarning::UnusedMapping { column }));
        Self {
            columns,
            email,
            warnings,
        }
    }

    /// The attribute key for a value found past the last header column.
    pub fn extra_column_key(index: usize) -> String {
        format!("column_{}", index + 1)
    }

    /// The header of column `index`, or its number when past the header row.
    pub fn header(&self, index: usize) -> String {
        self.columns
            .get(index)
            .map(|c| c.header.clone())
            .unwrap_or_else(|| Self::extra_column_key(index))
    }
}

/// Gives `target` to column `index` unless an earlier column has it; then
/// the column becomes an attribute `<key>_<n>` and a warning is recorded.
fn claim(
    claimed: &mut HashMap<String, usize>,
    key: &str,
    index: usize,
    header: &str,
    target: Target,
    warnings: &mut Vec<ColumnWarning>,
) -> Target {
    match claimed.get(key) {
        None => {
            claimed.insert(key.to_owned(), index);
            target
        }
        Some(&first) => {
            let kept_as = format!("{key}_{}", index + 1);
            warnings.push(ColumnWarning::Duplicate {
                header: header.to_owned(),
                first_column: first + 1,
                column: index + 1,
                kept_as: kept_as.clone(),
            });
            claimed.insert(kept_as.clone(), index);
            Target::Attribute(kept_as)
        }
    }
}

/// The attribute key for a column: its normalized header, or `column_<n>`
/// when the header is empty.
fn attribute_key(name: &str, index: usize) -> String {
    let key = normalize_header(name);
    if key.is_empty() {
        ColumnPlan::extra_column_key(index)
    } else {
        key
    }
}

/// Parses one `COLUMN=FIELD` mapping as written on a command line
/// (`"E-Mail Adresse=email"`, `"Notes=-"`); usable as a clap value parser.
pub fn parse_mapping_entry(entry: &str) -> Result<(String, String), String> {
    match entry.split_once('=') {
        Some((column, target)) if !column.trim().is_empty() && !target.trim().is_empty() => {
            Ok((column.trim().to_owned(), target.trim().to_owned()))
        }
        _ => Err(format!(
            "{entry:?} is not a column mapping; write COLUMN=FIELD, such as \"E-Mail Adresse=email\" \
             (FIELD is a lead field, an attribute name, or - to skip the column)"
        )),
    }
}

/// Trims, lower-cases and turns every run of characters other than letters
/// and digits into one `_` (a leading BOM included).
pub fn normalize_header(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut gap = false;
    for c in header.trim_start_matches('\u{feff}').trim().chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(headers: &[&str], mapping: &[(&str, &str)]) -> ColumnPlan {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let mapping = mapping.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ColumnPlan::new(&headers, &mapping)
    }

    fn targets(p: &ColumnPlan) -> Vec<Target> {
        p.columns.iter().map(|c| c.target.clone()).collect()
    }

    #[test]
    fn headers_are_normalized_before_matching() {
        assert_eq!(normalize_header("  First Name "), "first_name");
        assert_eq!(normalize_header("E-Mail"), "e_mail");
        assert_eq!(normalize_header("\u{feff}Job  Title"), "job_title");
        assert_eq!(normalize_header("--"), "");
    }

    #[test]
    fn common_header_spellings_map_to_lead_fields() {
        let p = plan(
            &[
                "E-Mail",
                "firstname",
                "Surname",
                "Organization",
                "Job Title",
                "TZ",
                "Employees",
            ],
            &[],
        );
        assert_eq!(
            targets(&p),
            vec![
                Target::Field(LeadField::Email),
                Target::Field(LeadField::FirstName),
                Target::Field(LeadField::LastName),
                Target::Field(LeadField::Company),
                Target::Field(LeadField::Title),
                Target::Field(LeadField::Timezone),
                Target::Field(LeadField::Employees),
            ]
        );
        assert_eq!(p.email, Some(0));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn unknown_columns_become_attributes() {
        let p = plan(&["email", "Industry", ""], &[]);
        assert_eq!(
            targets(&p)[1..],
            [
                Target::Attribute("industry".into()),
                Target::Attribute("column_3".into())
            ]
        );
    }

    #[test]
    fn the_user_mapping_wins_over_aliases() {
        let p = plan(
            &["Kontakt", "mail", "Notes", "Secret"],
            &[
                ("kontakt", "email"),
                ("Mail", "personal_mail"),
                ("secret", "-"),
                ("missing", "title"),
            ],
        );
        assert_eq!(
            targets(&p),
            vec![
                Target::Field(LeadField::Email),
                Target::Attribute("personal_mail".into()),
                Target::Attribute("notes".into()),
                Target::Ignore,
            ]
        );
        assert_eq!(
            p.warnings,
            vec![ColumnWarning::UnusedMapping {
                column: "missing".into()
            }]
        );
    }

    #[test]
    fn duplicate_headers_keep_the_first_and_the_rest_as_attributes() {
        let p = plan(&["email", "E-mail", "notes", "Notes"], &[]);
        assert_eq!(p.email, Some(0));
        assert_eq!(
            targets(&p)[1..],
            [
                Target::Attribute("email_2".into()),
                Target::Attribute("notes".into()),
                Target::Attribute("notes_4".into()),
            ]
        );
        assert_eq!(p.warnings.len(), 2);
        assert!(p.warnings[0].to_string().contains("column 2"), "{}", p.warnings[0]);
    }

    #[test]
    fn command_line_mappings_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_mapping_entry(" E-Mail Adresse = email "),
            Ok(("E-Mail Adresse".into(), "email".into()))
        );
        assert_eq!(parse_mapping_entry("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_mapping_entry("email").is_err());
        assert!(parse_mapping_entry("=email").is_err());
    }

    #[test]
    fn a_file_without_an_email_column_has_no_email_index() {
        assert_eq!(plan(&["name", "company"], &[]).email, None);
    }
}
