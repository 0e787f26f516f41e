//! The weighted-score rules: plain data in, a score and reasons out.
//!
//! This file depends only on `std` and `serde` so the host's benchmark can
//! compile it natively with `#[path = "..."] mod rules;` and compare it with
//! the same rules running inside the component.
//!
//! Each rule that matches adds its weight (weights may be negative); the
//! score is that sum divided by the best total the rules allow (the largest
//! title weight + the largest band weight + the country weight + every
//! positive signal weight), clamped to `0.0..=1.0`. So a lead that matches the
//! best of everything scores 1.0, whatever the absolute weights are.
//!
//! Use from outside the plugin:
//!
//! ```text
//! #[allow(dead_code)] // not every item is used by every includer
//! #[path = "../../plugins/examples/weighted-score/src/rules.rs"]
//! mod rules;
//!
//! let rules: rules::Rules = serde_json::from_str(config_json)?;   // validated, keywords lower-cased
//! let attributes: &[(&str, &str)] = &[("hiring", "true")];
//! let lead = rules::LeadInput { title: "VP Sales", employees: Some(120), country: "DE", attributes };
//! let mut reasons = Vec::new();
//! let score: f32 = rules.score(&lead, &mut reasons);
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

/// Read access to a lead's free-form attributes.
pub trait Attributes {
    /// The value of `key`, if the lead has it.
    fn get(&self, key: &str) -> Option<&str>;
}

impl Attributes for [(&str, &str)] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl Attributes for [(String, String)] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The lead fields the rules look at, borrowed from wherever the lead lives.
pub struct LeadInput<'a, A: Attributes + ?Sized> {
    /// Job title as written by the source.
    pub title: &'a str,
    /// Employee count, when known.
    pub employees: Option<u32>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: &'a str,
    /// Free-form attributes (signals, `employee_band`).
    pub attributes: &'a A,
}

/// Which rules explain themselves in a score's reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The matched title keyword.
    Title,
    /// The matched company size band.
    Size,
    /// The country list.
    Country,
    /// Each present signal.
    Signals,
}

/// A company size band: `min..=max` employees (no `max`: open-ended).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeBand {
    /// Smallest employee count in the band.
    pub min: u32,
    /// Largest employee count in the band; `None` means no upper bound.
    #[serde(default)]
    pub max: Option<u32>,
    /// What a lead in the band adds.
    pub weight: f32,
}

/// The rules as configured in the manifest's `[config]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Title keyword (case-insensitive, whole words) → weight; the best match counts.
    pub title_keywords: BTreeMap<String, f32>,
    /// Company size bands; the first band holding the employee count counts.
    pub size_bands: Vec<SizeBand>,
    /// Target countries (ISO codes, any case).
    pub countries: Vec<String>,
    /// What a lead in a target country adds.
    pub country_weight: f32,
    /// Attribute name → weight, added when the attribute is present and not
    /// `""`, `"false"`, `"0"` or `"no"`.
    pub signals: BTreeMap<String, f32>,
    /// Which rules write reasons (all by default; fewer means fewer allocations).
    pub reasons: Vec<ReasonKind>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        let title_keywords = [
            ("founder", 1.0),
            ("owner", 1.0),
            ("ceo", 1.0),
            ("cto", 1.0),
            ("cfo", 1.0),
            ("coo", 1.0),
            ("cmo", 1.0),
            ("chief", 1.0),
            ("president", 0.9),
            ("vp", 0.8),
            ("vice president", 0.8),
            ("head", 0.7),
            ("director", 0.7),
            ("lead", 0.5),
            ("manager", 0.4),
            ("intern", -0.5),
            ("student", -0.5),
        ];
        Self {
            title_keywords: title_keywords.into_iter().map(|(k, w)| (k.to_owned(), w)).collect(),
            size_bands: vec![
                SizeBand {
                    min: 1,
                    max: Some(10),
                    weight: 0.2,
                },
                SizeBand {
                    min: 11,
                    max: Some(50),
                    weight: 0.6,
                },
                SizeBand {
                    min: 51,
                    max: Some(500),
                    weight: 1.0,
                },
                SizeBand {
                    min: 501,
                    max: Some(5000),
                    weight: 0.7,
                },
                SizeBand {
                    min: 5001,
                    max: None,
                    weight: 0.4,
                },
            ],
            countries: Vec::new(),
            country_weight: 0.0,
            signals: BTreeMap::new(),
            reasons: vec![
                ReasonKind::Title,
                ReasonKind::Size,
                ReasonKind::Country,
                ReasonKind::Signals,
            ],
        }
    }
}

/// Rules ready to score: keywords lower-cased and sorted best first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RulesConfig")]
pub struct Rules {
    keywords: Vec<(String, f32)>,
    bands: Vec<SizeBand>,
    countries: Vec<String>,
    country_weight: f32,
    signals: Vec<(String, f32)>,
    best_total: f32,
    reason_title: bool,
    reason_size: bool,
    reason_country: bool,
    reason_signals: bool,
}

impl Default for Rules {
    fn default() -> Self {
        // The default config is valid by construction.
        Self::try_from(RulesConfig::default()).unwrap_or_else(|_| Self::empty())
    }
}

impl TryFrom<RulesConfig> for Rules {
    type Error = String;

    fn try_from(config: RulesConfig) -> Result<Self, String> {
        let all_weights = config
            .title_keywords
            .values()
            .chain(config.size_bands.iter().map(|b| &b.weight))
            .chain(std::iter::once(&config.country_weight))
            .chain(config.signals.values());
        if let Some(bad) = all_weights.into_iter().find(|w| !w.is_finite()) {
            return Err(format!("weight {bad} is not a finite number"));
        }
        if let Some(band) = config.size_bands.iter().find(|b| b.max.is_some_and(|max| max < b.min)) {
            return Err(format!("size band {}..{:?} ends before it starts", band.min, band.max));
        }
        let mut keywords: Vec<(String, f32)> = config
            .title_keywords
            .into_iter()
            .map(|(k, w)| (k.trim().to_lowercase(), w))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        // Best weight first, so the first match is the one that counts.
        keywords.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best_title = keywords.iter().map(|k| k.1).fold(0.0_f32, f32::max);
        let best_band = config.size_bands.iter().map(|b| b.weight).fold(0.0_f32, f32::max);
        let country_weight = if config.countries.is_empty() {
            0.0
        } else {
            config.country_weight
        };
        let positive_signals: f32 = config.signals.values().filter(|w| **w > 0.0).sum();
        let best_total = best_title + best_band + country_weight.max(0.0) + positive_signals;
        let has = |kind| config.reasons.contains(&kind);
        Ok(Self {
            keywords,
            bands: config.size_bands,
            countries: config.countries.iter().map(|c| c.trim().to_ascii_uppercase()).collect(),
            country_weight,
            signals: config.signals.into_iter().collect(),
            best_total,
            reason_title: has(ReasonKind::Title),
            reason_size: has(ReasonKind::Size),
            reason_country: has(ReasonKind::Country),
            reason_signals: has(ReasonKind::Signals),
        })
    }
}

impl Rules {
    fn empty() -> Self {
        Self {
            keywords: Vec::new(),
            bands: Vec::new(),
            countries: Vec::new(),
            country_weight: 0.0,
            signals: Vec::new(),
            best_total: 0.0,
            reason_title: false,
            reason_size: false,
            reason_country: false,
            reason_signals: false,
        }
    }

    /// Scores one lead, `0.0..=1.0`, pushing a reason per matched rule (as
    /// configured) onto `reasons`.
    pub fn score<A: Attributes + ?Sized>(&self, lead: &LeadInput<'_, A>, reasons: &mut Vec<String>) -> f32 {
        let mut total = 0.0_f32;

        if let Some((keyword, weight)) = self.title_match(lead.title) {
            total += weight;
            if self.reason_title {
                reasons.push(format!(
                    "title \"{}\" matches \"{keyword}\" ({weight:+})",
                    lead.title.trim()
                ));
            }
        }

        let employees = lead
            .employees
            .or_else(|| lead.attributes.get("employee_band").and_then(band_lower_bound));
        let band = employees.and_then(|count| {
            self.bands
                .iter()
                .find(|b| count >= b.min && b.max.is_none_or(|max| count <= max))
                .map(|band| (count, band))
        });
        if let Some((count, band)) = band {
            total += band.weight;
            if self.reason_size {
                let range = match band.max {
                    Some(max) => format!("{}-{max}", band.min),
                    None => format!("{}+", band.min),
                };
                reasons.push(format!("company size {count} in band {range} ({:+})", band.weight));
            }
        }

        let country = lead.country.trim();
        if !country.is_empty() && self.countries.iter().any(|c| c.eq_ignore_ascii_case(country)) {
            total += self.country_weight;
            if self.reason_country {
                reasons.push(format!("country {country} is a target ({:+})", self.country_weight));
            }
        }

        for (name, weight) in &self.signals {
            if lead.attributes.get(name).is_some_and(is_truthy) {
                total += weight;
                if self.reason_signals {
                    reasons.push(format!("signal {name} ({weight:+})"));
                }
            }
        }

        if self.best_total <= 0.0 {
            return 0.0;
        }
        (total / self.best_total).clamp(0.0, 1.0)
    }

    /// The best-weighted keyword found in `title` as whole words.
    fn title_match(&self, title: &str) -> Option<(&str, f32)> {
        if title.is_empty() {
            return None;
        }
        if title.is_ascii() {
            // The common case: compare ASCII case-insensitively, no allocation.
            self.keywords
                .iter()
                .find(|(k, _)| contains_word_ignore_ascii_case(title, k))
                .map(|(k, w)| (k.as_str(), *w))
        } else {
            let lower = title.to_lowercase();
            self.keywords
                .iter()
                .find(|(k, _)| contains_word_ignore_ascii_case(&lower, k))
                .map(|(k, w)| (k.as_str(), *w))
        }
    }
}

/// Whether `needle` (lower case) occurs in `haystack` as whole words,
/// ignoring ASCII case.
fn contains_word_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return false;
    }
    (0..=h.len() - n.len()).any(|start| {
        let end = start + n.len();
        h[start..end].eq_ignore_ascii_case(n)
            && (start == 0 || !is_word_byte(h[start - 1]))
            && (end == h.len() || !is_word_byte(h[end]))
    })
}

fn is_word_byte(b: u8) -> bool {
    // Bytes of multi-byte UTF-8 characters count as word bytes, so "führer"
    // does not match inside a longer word.
    b.is_ascii_alphanumeric() || b >= 0x80
}

fn is_truthy(value: &str) -> bool {
    let value = value.trim();
    !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false") || value.eq_ignore_ascii_case("no"))
}

/// The lower bound of an `employee_band` such as `51-200` or `1000+`.
fn band_lower_bound(band: &str) -> Option<u32> {
    let digits = band.trim().split(['-', '+', ' ']).next()?;
    digits.parse().ok()
}
