//! Constructors and accessors on the shared WIT types, so plugins and their
//! tests do not spell out every field.

use crate::{
    Action, Attribute, Capability, Classification, Date, Decision, Enrichment, Lead, PluginInfo, ReplyLabel, Score,
};

impl PluginInfo {
    /// What `describe` returns: usually
    /// `PluginInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "...", &[..])`.
    pub fn new(name: &str, version: &str, description: &str, needs: &[Capability]) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            needs: needs.to_vec(),
        }
    }
}

impl Attribute {
    /// A key/value pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl Lead {
    /// A lead with only its email set (trimmed and lower-cased) and every
    /// other field unknown.
    pub fn with_email(email: &str) -> Self {
        Self {
            email: email.trim().to_lowercase(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            domain: String::new(),
            title: String::new(),
            country: String::new(),
            timezone: String::new(),
            employees: None,
            attributes: Vec::new(),
        }
    }

    /// The value of the attribute `key`, the last one when it appears twice.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// Sets attribute `key`, replacing an existing value.
    pub fn set_attribute(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|a| a.key == key) {
            Some(existing) => existing.value = value,
            None => self.attributes.push(Attribute::new(key, value)),
        }
    }
}

impl Enrichment {
    /// An enrichment that changes nothing; `deliverable` says whether the
    /// address can receive mail.
    pub fn unchanged(deliverable: bool) -> Self {
        Self {
            email: None,
            deliverable,
            company: None,
            domain: None,
            title: None,
            country: None,
            employees: None,
            attributes: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Score {
    /// A score, clamped to `0.0..=1.0` (a NaN becomes 0).
    pub fn new(value: f32, reasons: Vec<String>) -> Self {
        let value = if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) };
        Self { value, reasons }
    }
}

impl Classification {
    /// A verdict, confidence clamped to `0.0..=1.0`.
    pub fn new(label: ReplyLabel, confidence: f32, reason: impl Into<String>) -> Self {
        let confidence = if confidence.is_nan() {
            0.0
        } else {
            confidence.clamp(0.0, 1.0)
        };
        Self {
            label,
            confidence,
            reason: reason.into(),
        }
    }
}

impl Decision {
    /// An action and why.
    pub fn new(action: Action, reason: impl Into<String>) -> Self {
        Self {
            action,
            reason: reason.into(),
        }
    }
}

impl Date {
    /// A calendar date (not validated).
    pub fn new(year: u16, month: u8, day: u8) -> Self {
        Self { year, month, day }
    }
}
