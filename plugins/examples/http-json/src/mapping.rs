//! JSON paths and the mapping of one response item to a lead.

use crate::settings::Fields;
use cam_plugin_sdk::{Attribute, Lead};
use serde_json::Value;

/// The value at `path` in `value`: a JSON pointer (`/a/0/b`), a dotted path
/// (`a.0.b`), or `""` for `value` itself.
pub fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(value);
    }
    if path.starts_with('/') {
        return value.pointer(path);
    }
    path.split('.').try_fold(value, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A scalar as text: strings as they are, numbers and booleans printed,
/// `null` empty, arrays and objects as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// One item as a lead. `optional` lists the lead fields that may be absent;
/// the error names the missing field and its path.
pub fn to_lead(item: &Value, fields: &Fields, optional: &[String]) -> Result<Lead, String> {
    let get = |field: &str, path: &Option<String>| -> Result<String, String> {
        match path {
            None => Ok(String::new()),
            Some(path) => match lookup(item, path) {
                Some(v) => Ok(text(v)),
                None if optional.iter().any(|o| o == field) => Ok(String::new()),
                None => Err(format!("field `{field}` (path `{path}`) is missing")),
            },
        }
    };
    let email = get("email", &Some(fields.email.clone()))?.trim().to_lowercase();
    if email.is_empty() {
        return Err(format!("field `email` (path `{}`) is empty", fields.email));
    }
    let mut lead = Lead::with_email(&email);
    lead.first_name = get("first_name", &fields.first_name)?;
    lead.last_name = get("last_name", &fields.last_name)?;
    lead.company = get("company", &fields.company)?;
    lead.domain = get("domain", &fields.domain)?.trim().to_lowercase();
    lead.title = get("title", &fields.title)?;
    lead.country = get("country", &fields.country)?.trim().to_uppercase();
    lead.timezone = get("timezone", &fields.timezone)?;
    let employees = get("employees", &fields.employees)?;
    let employees = employees.trim();
    if !employees.is_empty() {
        let count = employees
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("field `employees` is not a number: {employees:?}"))?;
        // Counts past u32::MAX do not exist; saturate rather than fail.
        lead.employees = Some(count.min(f64::from(u32::MAX)) as u32);
    }
    for (name, path) in &fields.attributes {
        let field = format!("attributes.{name}");
        let value = get(&field, &Some(path.clone()))?;
        if !value.is_empty() {
            lead.attributes.push(Attribute::new(name.clone(), value));
        }
    }
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Fields {
        serde_json::from_value(json!({
            "email": "contact.email",
            "first_name": "/name/first",
            "title": "job",
            "country": "geo.country",
            "employees": "company.size",
            "attributes": {"hiring": "signals.hiring"}
        }))
        .unwrap()
    }

    #[test]
    fn dotted_paths_and_pointers_both_work() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}});
        assert_eq!(lookup(&v, "a.b.1.c"), Some(&json!("x")));
        assert_eq!(lookup(&v, "/a/b/0"), Some(&json!(10)));
        assert_eq!(lookup(&v, "a.z"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }

    #[test]
    fn an_item_maps_to_a_lead() {
        let item = json!({
            "contact": {"email": " Ada@Acme.COM "},
            "name": {"first": "Ada"},
            "job": "CTO",
            "geo": {"country": "de"},
            "company": {"size": "120"},
            "signals": {"hiring": true}
        });
        let lead = to_lead(&item, &fields(), &[]).unwrap();
        assert_eq!(lead.email, "ada@acme.com");
        assert_eq!(lead.first_name, "Ada");
        assert_eq!(lead.title, "CTO");
        assert_eq!(lead.country, "DE");
        assert_eq!(lead.employees, Some(120));
        assert_eq!(lead.attribute("hiring"), Some("true"));
    }

    #[test]
    fn a_missing_field_is_named_unless_optional() {
        let item =
            json!({"contact": {"email": "a@b.co"}, "name": {"first": "A"}, "geo": {}, "company": {}, "signals": {}});
        let error = to_lead(&item, &fields(), &[]).unwrap_err();
        assert_eq!(error, "field `title` (path `job`) is missing");
        let optional = ["title", "country", "employees", "attributes.hiring"].map(String::from);
        let lead = to_lead(&item, &fields(), &optional).unwrap();
        assert_eq!(lead.title, "");
        assert_eq!(lead.employees, None);
        assert!(lead.attributes.is_empty());
    }

    #[test]
    fn null_values_are_empty_and_bad_counts_are_errors() {
        let item = json!({"contact": {"email": "a@b.co"}, "name": {"first": null}, "job": null, "geo": {"country": null}, "company": {"size": "lots"}, "signals": {"hiring": null}});
        let error = to_lead(&item, &fields(), &[]).unwrap_err();
        assert!(error.contains("employees"), "{error}");
        let item = json!({"contact": {"email": ""}});
        assert!(to_lead(&item, &fields(), &[]).unwrap_err().contains("is empty"));
    }
}
