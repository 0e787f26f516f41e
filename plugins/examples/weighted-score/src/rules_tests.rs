//! Unit tests of `rules.rs`, kept apart so the host benchmark can include
//! `rules.rs` alone.

use crate::rules::{LeadInput, Rules, RulesConfig, SizeBand};

const NO_ATTRIBUTES: &[(&str, &str)] = &[];

fn rules(json: &str) -> Rules {
    serde_json::from_str(json).unwrap()
}

fn score(rules: &Rules, title: &str, employees: Option<u32>, country: &str) -> (f32, Vec<String>) {
    score_with(rules, title, employees, country, NO_ATTRIBUTES)
}

fn score_with(
    rules: &Rules,
    title: &str,
    employees: Option<u32>,
    country: &str,
    attributes: &[(&str, &str)],
) -> (f32, Vec<String>) {
    let input = LeadInput {
        title,
        employees,
        country,
        attributes,
    };
    let mut reasons = Vec::new();
    let value = rules.score(&input, &mut reasons);
    (value, reasons)
}

#[test]
fn the_best_matching_title_keyword_counts_case_insensitively() {
    let rules = rules(r#"{"title_keywords": {"manager": 0.5, "director": 1.0}, "size_bands": []}"#);
    let (value, reasons) = score(&rules, "Sales DIRECTOR and Manager", None, "");
    assert_eq!(value, 1.0);
    assert_eq!(
        reasons,
        vec![r#"title "Sales DIRECTOR and Manager" matches "director" (+1)"#.to_owned()]
    );
}

#[test]
fn keywords_match_whole_words_only() {
    let rules = rules(r#"{"title_keywords": {"cto": 1.0}, "size_bands": []}"#);
    assert_eq!(score(&rules, "Director", None, "").0, 0.0);
    assert_eq!(score(&rules, "CTO / Co-founder", None, "").0, 1.0);
    assert_eq!(score(&rules, "co-CTO", None, "").0, 1.0);
}

#[test]
fn multi_word_keywords_match() {
    let rules = rules(r#"{"title_keywords": {"vice president": 1.0}, "size_bands": []}"#);
    assert_eq!(score(&rules, "Vice President, Sales", None, "").0, 1.0);
}

#[test]
fn non_ascii_titles_are_lowercased_before_matching() {
    let rules = rules(r#"{"title_keywords": {"geschäftsführer": 1.0}, "size_bands": []}"#);
    assert_eq!(score(&rules, "GESCHÄFTSFÜHRER", None, "").0, 1.0);
    assert_eq!(score(&rules, "Stellvertretender Geschäftsführerin", None, "").0, 0.0);
}

#[test]
fn the_employee_count_picks_its_band() {
    let rules = rules(
        r#"{"title_keywords": {}, "size_bands": [
            {"min": 1, "max": 10, "weight": 0.25},
            {"min": 11, "max": 200, "weight": 1.0},
            {"min": 201, "weight": 0.5}]}"#,
    );
    assert_eq!(score(&rules, "", Some(5), "").0, 0.25);
    assert_eq!(score(&rules, "", Some(200), "").0, 1.0);
    let (value, reasons) = score(&rules, "", Some(10_000), "");
    assert_eq!(value, 0.5);
    assert_eq!(reasons, vec!["company size 10000 in band 201+ (+0.5)".to_owned()]);
    assert_eq!(score(&rules, "", None, "").0, 0.0);
}

#[test]
fn an_employee_band_attribute_stands_in_for_a_missing_count() {
    let rules = rules(r#"{"title_keywords": {}, "size_bands": [{"min": 51, "max": 200, "weight": 1.0}]}"#);
    let (value, _) = score_with(&rules, "", None, "", &[("employee_band", "51-200")]);
    assert_eq!(value, 1.0);
}

#[test]
fn target_countries_match_in_any_case() {
    let rules = rules(r#"{"title_keywords": {}, "size_bands": [], "countries": ["de", "AT"], "country_weight": 2.0}"#);
    let (value, reasons) = score(&rules, "", None, "DE");
    assert_eq!(value, 1.0);
    assert_eq!(reasons, vec!["country DE is a target (+2)".to_owned()]);
    assert_eq!(score(&rules, "", None, "FR").0, 0.0);
    assert_eq!(score(&rules, "", None, "").0, 0.0);
}

#[test]
fn falsy_signal_values_do_not_count() {
    let rules = rules(r#"{"title_keywords": {}, "size_bands": [], "signals": {"hiring": 1.0}}"#);
    for value in ["", "false", "0", "No"] {
        assert_eq!(score_with(&rules, "", None, "", &[("hiring", value)]).0, 0.0, "{value}");
    }
    assert_eq!(score_with(&rules, "", None, "", &[("hiring", "yes")]).0, 1.0);
}

#[test]
fn negative_weights_lower_the_score_but_never_below_zero() {
    let rules = rules(
        r#"{"title_keywords": {"intern": -1.0, "director": 1.0}, "size_bands": [],
            "signals": {"competitor": -5.0, "hiring": 1.0}}"#,
    );
    let (value, _) = score_with(&rules, "Director", None, "", &[("hiring", "1"), ("competitor", "1")]);
    assert_eq!(value, 0.0);
    let (value, _) = score_with(&rules, "Director", None, "", &[("hiring", "1")]);
    assert_eq!(value, 1.0);
    assert_eq!(score(&rules, "Intern", None, "").0, 0.0);
}

#[test]
fn the_score_is_the_share_of_the_best_possible_total() {
    let rules = rules(
        r#"{"title_keywords": {"vp": 1.0}, "size_bands": [{"min": 1, "weight": 1.0}],
            "countries": ["DE"], "country_weight": 1.0, "signals": {"hiring": 1.0}}"#,
    );
    let (value, reasons) = score(&rules, "VP", Some(3), "FR");
    assert!((value - 0.5).abs() < 1e-6);
    assert_eq!(reasons.len(), 2);
}

#[test]
fn the_reasons_list_limits_which_rules_explain_themselves() {
    let rules = rules(
        r#"{"title_keywords": {"vp": 1.0}, "size_bands": [{"min": 1, "weight": 1.0}],
            "reasons": ["size"]}"#,
    );
    let (value, reasons) = score(&rules, "VP", Some(3), "");
    assert_eq!(value, 1.0);
    assert_eq!(reasons, vec!["company size 3 in band 1+ (+1)".to_owned()]);
}

#[test]
fn rules_without_any_positive_weight_score_zero() {
    let rules = rules(r#"{"title_keywords": {}, "size_bands": []}"#);
    assert_eq!(score(&rules, "CEO", Some(10), "DE").0, 0.0);
}

#[test]
fn unknown_keys_and_inverted_bands_are_rejected() {
    assert!(serde_json::from_str::<Rules>(r#"{"title_keyword": {}}"#).is_err());
    let error = serde_json::from_str::<Rules>(r#"{"size_bands": [{"min": 10, "max": 5, "weight": 1}]}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("ends before it starts"), "{error}");
}

#[test]
fn the_default_rules_favour_senior_titles_at_mid_sized_companies() {
    let rules = Rules::default();
    let senior = score(&rules, "Founder & CEO", Some(120), "").0;
    let junior = score(&rules, "Marketing Intern", Some(120), "").0;
    assert!(senior > 0.9, "{senior}");
    assert!(junior < 0.3, "{junior}");
    let config = RulesConfig::default();
    assert!(config.size_bands.contains(&SizeBand {
        min: 51,
        max: Some(500),
        weight: 1.0
    }));
}
