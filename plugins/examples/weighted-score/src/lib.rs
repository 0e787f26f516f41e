//! `weighted-score`: scores leads 0..1 from rules and weights in the
//! manifest's `[config]` (title seniority keywords, company size bands, a
//! country list, signal attributes), with one reason per matched rule.
//!
//! The rules live in `rules.rs` (plain `std` + `serde`, shared with the
//! host's benchmark); this file only adapts SDK leads to them.

mod rules;
#[cfg(test)]
mod rules_tests;

use cam_plugin_sdk::{Attribute, Capability, Lead, PluginInfo, Score, Scorer, config};
use rules::{Attributes, LeadInput, Rules};

/// The scorer.
pub struct WeightedScore;

/// A lead's attribute list seen through the rules' [`Attributes`] trait.
struct LeadAttributes<'a>(&'a [Attribute]);

impl Attributes for LeadAttributes<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|a| a.key == key).map(|a| a.value.as_str())
    }
}

/// Reads the rules from `[config]`; an empty table means the default rules.
fn load_rules() -> Result<Rules, String> {
    // Instances are fresh per call, so this runs once per batch: one small
    // JSON object built from the config and deserialized.
    config::load::<Rules>().map_err(|e| format!("weighted-score: {e}"))
}

/// Scores `leads` with `rules`, one score per lead, in order.
fn score_all(rules: &Rules, leads: &[Lead]) -> Vec<Score> {
    leads
        .iter()
        .map(|lead| {
            let attributes = LeadAttributes(&lead.attributes);
            let input = LeadInput {
                title: &lead.title,
                employees: lead.employees,
                country: &lead.country,
                attributes: &attributes,
            };
            let mut reasons = Vec::new();
            let value = rules.score(&input, &mut reasons);
            Score { value, reasons }
        })
        .collect()
}

impl Scorer for WeightedScore {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Scores leads 0..1 from configured title, company size, country and signal weights.",
            &[Capability::Config, Capability::Log],
        )
    }

    fn score(leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let rules = load_rules()?;
        let scores = score_all(&rules, &leads);
        // One line per batch (not per lead): what `--plugin-logs` shows.
        let best = scores.iter().map(|s| s.value).fold(0.0_f32, f32::max);
        cam_plugin_sdk::debug!("scored {} leads, best {best:.2}", scores.len());
        Ok(scores)
    }
}

cam_plugin_sdk::export_scorer!(WeightedScore);

#[cfg(test)]
mod tests {
    use super::*;
    use cam_plugin_sdk::testing;

    fn lead(title: &str, employees: Option<u32>, country: &str) -> Lead {
        let mut lead = Lead::with_email("ada@acme.com");
        lead.title = title.to_owned();
        lead.employees = employees;
        lead.country = country.to_owned();
        lead
    }

    #[test]
    fn the_trait_reads_its_rules_from_config() {
        testing::reset();
        testing::set_config("title_keywords", r#"{"vp": 1.0}"#);
        testing::set_config("size_bands", r#"[{"min": 1, "weight": 1.0}]"#);
        testing::set_config("countries", r#"["DE"]"#);
        testing::set_config("country_weight", "1.0");
        let scores =
            WeightedScore::score(vec![lead("VP Sales", Some(40), "DE"), lead("Engineer", None, "FR")]).unwrap();
        assert_eq!(scores.len(), 2);
        assert!((scores[0].value - 1.0).abs() < 1e-6);
        assert_eq!(scores[0].reasons.len(), 3);
        assert_eq!(scores[1].value, 0.0);
        assert!(scores[1].reasons.is_empty());
    }

    #[test]
    fn an_empty_config_scores_with_the_default_rules() {
        testing::reset();
        let scores = WeightedScore::score(vec![lead("Chief Executive Officer", Some(120), "")]).unwrap();
        assert!(scores[0].value > 0.9, "{:?}", scores[0]);
    }

    #[test]
    fn a_misspelled_config_key_is_an_error_naming_it() {
        testing::reset();
        testing::set_config("title_keyword", r#"{"vp": 1.0}"#);
        let error = WeightedScore::score(vec![lead("VP", None, "")]).unwrap_err();
        assert!(error.contains("title_keyword"), "{error}");
    }

    #[test]
    fn signal_attributes_from_enrichers_count() {
        testing::reset();
        testing::set_config("title_keywords", "{}");
        testing::set_config("size_bands", "[]");
        testing::set_config("signals", r#"{"hiring": 1.0}"#);
        let mut hiring = lead("", None, "");
        hiring.set_attribute("hiring", "true");
        let scores = WeightedScore::score(vec![hiring]).unwrap();
        assert_eq!(scores[0].value, 1.0);
        assert_eq!(scores[0].reasons, vec!["signal hiring (+1)".to_owned()]);
    }

    #[test]
    fn the_shipped_manifest_config_is_accepted() {
        testing::reset();
        testing::use_manifest_config(include_str!("../weighted_score.toml")).unwrap();
        let scores = WeightedScore::score(vec![lead("VP Engineering", Some(120), "DE")]).unwrap();
        assert!(scores[0].value > 0.5, "{:?}", scores[0]);
        let logs = testing::logs();
        assert!(
            logs.iter().any(|(_, line)| line.starts_with("scored 1 leads")),
            "one line per batch: {logs:?}"
        );
    }

    #[test]
    fn describe_names_the_plugin_and_its_needs() {
        let info = WeightedScore::describe();
        assert_eq!(info.name, "weighted-score");
        assert_eq!(info.needs, vec![Capability::Config, Capability::Log]);
    }
}
