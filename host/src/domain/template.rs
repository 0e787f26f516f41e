//! Email templates: `{{first_name}}`-style placeholders over a lead's fields
//! and attributes.
//!
//! Syntax:
//! - `{{name}}` is replaced by the field `name`; names are letters, digits,
//!   `_`, `-` and `.`, and are case-insensitive (`{{First_Name}}` is
//!   `first_name`); spaces inside the braces are ignored;
//! - `{{name|default}}` uses `default` when the lead has no `name`;
//! - everything else is copied as written, including a lone `}}`.
//!
//! A field that is absent, empty or only whitespace counts as missing: a
//! message saying "Hi ," is as bad as one saying "Hi {{first_name}},". A
//! missing field without a default makes rendering fail with an error naming
//! the field and the template, so no message ever goes out with a
//! placeholder or a hole in it. An unclosed `{{` is a parse error, found when
//! the campaign is loaded rather than when the first lead is rendered.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// What went wrong parsing or rendering a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("template {template:?}, line {line}, column {column}: {reason}")]
    Syntax {
        /// The template's name, such as `step 1 subject`.
        template: String,
        /// 1-based line of the offending `{{`.
        line: usize,
        /// 1-based column (in characters) of the offending `{{`.
        column: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The lead lacks fields the template needs and that have no default.
    #[error(
        "template {template:?} needs {} which the lead does not have; fill it in or give a default such as {{{{{}|...}}}}",
        quote_list(.fields), .fields.first().map(String::as_str).unwrap_or("field")
    )]
    MissingFields {
        /// The template's name.
        template: String,
        /// The missing fields, in template order, without repeats.
        fields: Vec<String>,
    },
}

fn quote_list(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("{f:?}")).collect();
    quoted.join(", ")
}

/// Where a template's placeholders get their values: a lead, an import row,
/// a map in a test.
pub trait FieldSource {
    /// The value of field `name` (lower-case), or `None` when unknown.
    fn field(&self, name: &str) -> Option<Cow<'_, str>>;
}

impl FieldSource for HashMap<String, String> {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl FieldSource for BTreeMap<String, String> {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl FieldSource for [(&str, &str)] {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| Cow::Borrowed(*v))
    }
}

/// A lead's fields by their template names (`first_name`, `timezone`...),
/// then its attributes by key.
impl FieldSource for super::model::NewLead {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let known = match name {
            "email" => &self.email,
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "company" => &self.company,
            "domain" => &self.domain,
            "title" => &self.title,
            "country" => &self.country,
            "timezone" | "time_zone" => &self.time_zone,
            "employees" => return self.employees.map(|n| Cow::Owned(n.to_string())),
            _ => return self.attributes.get(name).map(|v| Cow::Borrowed(v.as_str())),
        };
        Some(Cow::Borrowed(known.as_str()))
    }
}

impl FieldSource for super::model::Lead {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.fields.field(name)
    }
}

/// One parsed piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field { name: String, default: Option<String> },
}

/// A parsed template: parse once when the campaign loads, render per lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    name: String,
    parts: Vec<Part>,
    text_len: usize,
}

impl Template {
    /// Parses `source`; `name` (such as `step 2 body`) is used in errors.
    pub fn parse(name: &str, source: &str) -> Result<Self, TemplateError> {
        let syntax = |offset: usize, reason| {
            let before = &source[..offset];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            TemplateError::Syntax {
                template: name.to_owned(),
                line,
                column: source[line_start..offset].chars().count() + 1,
                reason,
            }
        };
        let mut parts = Vec::new();
        let mut text_len = 0;
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            let offset = source.len() - rest.len() + open;
            if open > 0 {
                text_len += open;
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| syntax(offset, "`{{` is never closed with `}}`"))?;
            let inner = &after[..close];
            if inner.contains("{{") {
                return Err(syntax(offset, "`{{` is never closed with `}}`"));
            }
            let (field, default) = match inner.split_once('|') {
                Some((f, d)) => (f.trim(), Some(d.trim().to_owned())),
                None => (inner.trim(), None),
            };
            if field.is_empty() {
                return Err(syntax(offset, "a placeholder has no field name"));
            }
            if !field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(syntax(
                    offset,
                    "field names may only hold letters, digits, `_`, `-` and `.`",
                ));
            }
            parts.push(Part::Field {
                name: field.to_ascii_lowercase(),
                default,
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            text_len += rest.len();
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            parts,
            text_len,
        })
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields the template refers to, in order (with repeats), each with
    /// whether it has a default.
    pub fn fields(&self) -> impl Iterator<Item = (&str, bool)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field { name, default } => Some((name.as_str(), default.is_some())),
            Part::Text(_) => None,
        })
    }

    /// Fills the placeholders from `source`. Fails, naming every missing
    /// field, when any field without a default is missing or blank.
    pub fn render<S: FieldSource + ?Sized>(&self, source: &S) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.text_len + 16 * self.parts.len());
        let mut missing: Vec<String> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field { name, default } => {
                    let value = source.field(name);
                    match (value.as_deref().map(str::trim), default) {
                        (Some(v), _) if !v.is_empty() => out.push_str(v),
                        (_, Some(d)) => out.push_str(d),
                        _ => {
                            if !missing.contains(name) {
                                missing.push(name.clone());
                            }
                        }
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(TemplateError::MissingFields {
                template: self.name.clone(),
                fields: missing,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead() -> HashMap<String, String> {
        [
            ("first_name", "Anna"),
            ("company", "Acme GmbH"),
            ("title", "   "),
            ("industry", "logistics"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn placeholders_are_filled_from_the_lead() {
        let t = Template::parse("s", "Hi {{first_name}}, how is {{ company }} doing in {{Industry}}?").unwrap();
        assert_eq!(
            t.render(&lead()).unwrap(),
            "Hi Anna, how is Acme GmbH doing in logistics?"
        );
    }

    #[test]
    fn a_default_fills_a_missing_or_blank_field() {
        let t = Template::parse("s", "Hi {{last_name|there}}, {{title | team lead}}").unwrap();
        assert_eq!(t.render(&lead()).unwrap(), "Hi there, team lead");
    }

    #[test]
    fn a_missing_field_is_an_error_naming_the_field_and_template() {
        let t = Template::parse("step 1 body", "Hi {{last_name}} at {{title}}, {{last_name}}").unwrap();
        let err = t.render(&lead()).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingFields {
                template: "step 1 body".into(),
                fields: vec!["last_name".into(), "title".into()],
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("step 1 body") && msg.contains("\"last_name\""), "{msg}");
    }

    #[test]
    fn an_unclosed_placeholder_is_a_parse_error_with_its_position() {
        let err = Template::parse("step 2 subject", "Hello\nthere {{first_name, bye").unwrap_err();
        assert_eq!(
            err,
            TemplateError::Syntax {
                template: "step 2 subject".into(),
                line: 2,
                column: 7,
                reason: "`{{` is never closed with `}}`",
            }
        );
        assert!(Template::parse("t", "{{a {{b}}").is_err());
    }

    #[test]
    fn empty_or_odd_field_names_are_parse_errors() {
        assert!(Template::parse("t", "Hi {{}}").is_err());
        assert!(Template::parse("t", "Hi {{ |x}}").is_err());
        assert!(Template::parse("t", "Hi {{first name}}").is_err());
    }

    #[test]
    fn text_without_placeholders_is_copied_verbatim() {
        let t = Template::parse("t", "Plain } text }} with braces { ").unwrap();
        assert_eq!(t.render(&lead()).unwrap(), "Plain } text }} with braces { ");
        assert_eq!(Template::parse("t", "").unwrap().render(&lead()).unwrap(), "");
    }

    #[test]
    fn rendered_output_never_contains_a_placeholder() {
        let t = Template::parse("t", "{{first_name}}{{company|x}}{{industry}}").unwrap();
        let out = t.render(&lead()).unwrap();
        assert!(!out.contains("{{"), "{out}");
    }

    #[test]
    fn no_template_of_braces_and_text_ever_renders_a_placeholder() {
        // Every string over this alphabet either fails to parse or renders
        // without `{{`, whatever fields the lead has.
        let alphabet = ["{{", "}}", "{", "}", "first_name", "|", "x", " ", "nope"];
        let mut seed = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let mut source = String::new();
            for _ in 0..(seed % 9) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                source.push_str(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if let Ok(t) = Template::parse("t", &source)
                && let Ok(out) = t.render(&lead())
            {
                assert!(!out.contains("{{"), "{source:?} rendered {out:?}");
            }
        }
    }

    #[test]
    fn fields_lists_what_the_template_needs() {
        let t = Template::parse("t", "{{a}} {{b|x}}").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), vec![("a", false), ("b", true)]);
    }

    #[test]
    fn a_stored_leads_fields_and_attributes_fill_templates() {
        let lead = crate::domain::model::NewLead {
            first_name: "Anna".into(),
            time_zone: "Europe/Berlin".into(),
            employees: Some(40),
            attributes: BTreeMap::from([("industry".to_owned(), "logistics".to_owned())]),
            ..Default::default()
        };
        let t = Template::parse(
            "t",
            "{{first_name}} {{timezone}} {{employees}} {{industry}} {{company|-}}",
        )
        .unwrap();
        assert_eq!(t.render(&lead).unwrap(), "Anna Europe/Berlin 40 logistics -");
    }

    #[test]
    fn slices_of_pairs_work_as_a_field_source() {
        let t = Template::parse("t", "{{x}}").unwrap();
        let fields: &[(&str, &str)] = &[("x", "1")];
        assert_eq!(t.render(fields).unwrap(), "1");
    }
}
