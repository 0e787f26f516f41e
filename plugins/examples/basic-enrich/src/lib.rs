//! `basic-enrich`: checks and normalizes each lead's email, flags role
//! accounts (`info@`, `sales@`), free-mail and disposable domains, takes the
//! company domain (and, optionally, a company name) from the address and
//! puts the employee count into an `employee_band` attribute.
//!
//! Attributes it sets: `email_valid`, `role_account`, `free_mail`,
//! `disposable_domain`, `employee_band`. Needs no host import but `config`
//! (for the optional extra lists); everything else is embedded.

mod domains;
mod email;
mod enrich;

use cam_plugin_sdk::{Capability, Enricher, Enrichment, Lead, PluginInfo, config};
use enrich::Settings;

/// The enricher.
pub struct BasicEnrich;

impl Enricher for BasicEnrich {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Email syntax and normalization, role accounts, free-mail and disposable domains, company domain, employee band.",
            &[Capability::Config],
        )
    }

    fn enrich(leads: Vec<Lead>) -> Vec<Result<Enrichment, String>> {
        match config::load::<Settings>() {
            Ok(settings) => leads.iter().map(|lead| Ok(enrich::enrich(&settings, lead))).collect(),
            // A bad config fails every lead with the same clear message.
            Err(error) => {
                let message = format!("basic-enrich: {error}");
                leads.iter().map(|_| Err(message.clone())).collect()
            }
        }
    }
}

cam_plugin_sdk::export_enricher!(BasicEnrich);

#[cfg(test)]
mod tests {
    use super::*;
    use cam_plugin_sdk::testing;

    #[test]
    fn one_result_per_lead_in_order() {
        testing::reset();
        let results = BasicEnrich::enrich(vec![
            Lead::with_email("a@acme.com"),
            Lead::with_email("b@mailinator.com"),
        ]);
        assert_eq!(results.len(), 2);
        assert!(results[0].as_ref().unwrap().deliverable);
        assert!(!results[1].as_ref().unwrap().deliverable);
    }

    #[test]
    fn the_shipped_manifest_config_is_accepted() {
        testing::reset();
        testing::use_manifest_config(include_str!("../basic_enrich.toml")).unwrap();
        let results = BasicEnrich::enrich(vec![Lead::with_email("ada@acme.com")]);
        assert_eq!(results[0].as_ref().unwrap().company.as_deref(), Some("Acme"));
    }

    #[test]
    fn a_bad_config_fails_each_lead_with_the_key_named() {
        testing::reset();
        testing::set_config("extra_free_mail", "42");
        let results = BasicEnrich::enrich(vec![Lead::with_email("a@acme.com")]);
        let error = results[0].as_ref().unwrap_err();
        assert!(
            error.contains("extra_free_mail") || error.contains("[config]"),
            "{error}"
        );
    }
}
