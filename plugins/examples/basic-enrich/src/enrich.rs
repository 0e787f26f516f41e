//! What the enricher learns about one lead, as a pure function.

use crate::{domains, email};
use cam_plugin_sdk::{Attribute, Enrichment, Lead};
use serde::Deserialize;

/// Extra list entries from the manifest's `[config]`; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// More free-mail domains.
    pub extra_free_mail: Vec<String>,
    /// More disposable domains.
    pub extra_disposable: Vec<String>,
    /// More role local parts.
    pub extra_role_accounts: Vec<String>,
    /// Fill an empty company name from the domain (`acme.com` → `Acme`).
    pub guess_company: bool,
}

impl Settings {
    fn is_free_mail(&self, domain: &str) -> bool {
        domains::contains(domains::FREE_MAIL, domain)
            || self.extra_free_mail.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    fn is_disposable(&self, domain: &str) -> bool {
        let registrable = email::registrable_domain(domain);
        [domain, registrable].iter().any(|d| {
            domains::contains(domains::DISPOSABLE, d) || self.extra_disposable.iter().any(|x| x.eq_ignore_ascii_case(d))
        })
    }

    fn is_role(&self, local: &str) -> bool {
        // `sales.eu`, `info-de`: the part before a separator names the role.
        let head = local.split(['.', '-', '_', '+']).next().unwrap_or(local);
        [local, head].iter().any(|l| {
            domains::contains(domains::ROLE_LOCAL_PARTS, l)
                || self.extra_role_accounts.iter().any(|x| x.eq_ignore_ascii_case(l))
        })
    }
}

/// The LinkedIn-style band for an employee count.
pub fn employee_band(employees: u32) -> &'static str {
    match employees {
        0..=10 => "1-10",
        11..=50 => "11-50",
        51..=200 => "51-200",
        201..=500 => "201-500",
        501..=1000 => "501-1000",
        1001..=5000 => "1001-5000",
        5001..=10_000 => "5001-10000",
        _ => "10001+",
    }
}

/// Enriches one lead.
pub fn enrich(settings: &Settings, lead: &Lead) -> Enrichment {
    let mut out = Enrichment::unchanged(true);
    if let Some(count) = lead.employees {
        out.attributes
            .push(Attribute::new("employee_band", employee_band(count)));
    }
    let address = match email::parse(&lead.email) {
        Ok(address) => address,
        Err(why) => {
            out.deliverable = false;
            out.attributes.push(Attribute::new("email_valid", "false"));
            out.notes.push(format!("invalid email {:?}: {why}", lead.email));
            return out;
        }
    };
    out.attributes.push(Attribute::new("email_valid", "true"));
    let canonical = email::canonical(&address);
    let normalized = canonical.to_email();
    if normalized != lead.email {
        out.notes.push(format!("email normalized from {:?}", lead.email));
        out.email = Some(normalized);
    }
    let domain = canonical.domain.as_str();

    if settings.is_role(&canonical.local) {
        out.attributes.push(Attribute::new("role_account", "true"));
        out.notes.push(format!("role account ({}@)", canonical.local));
    }
    let disposable = settings.is_disposable(domain);
    let free_mail = !disposable && settings.is_free_mail(domain);
    let known_domain = lead.domain.trim().trim_end_matches('.').to_lowercase();
    if disposable || free_mail {
        if disposable {
            out.deliverable = false;
            out.attributes.push(Attribute::new("disposable_domain", "true"));
            out.notes.push(format!("disposable domain {domain}"));
        } else {
            out.attributes.push(Attribute::new("free_mail", "true"));
            out.notes.push(format!("free-mail domain {domain}"));
        }
        // A source that copied the mailbox provider into the company domain
        // is wrong: clear it (an empty string means unknown).
        if !known_domain.is_empty() && email::registrable_domain(&known_domain) == email::registrable_domain(domain) {
            out.domain = Some(String::new());
            out.notes.push(format!("{domain} is not a company domain: cleared"));
        }
        return out;
    }
    let company_domain = email::registrable_domain(domain);
    if known_domain.is_empty() {
        out.domain = Some(company_domain.to_owned());
        out.notes
            .push(format!("company domain {company_domain} from the email"));
    } else if known_domain != lead.domain {
        // Keep the source's domain, but in normalized form.
        out.notes
            .push(format!("company domain normalized from {:?}", lead.domain));
        out.domain = Some(known_domain);
    }
    if settings.guess_company && lead.company.trim().is_empty() {
        let name = company_domain.split('.').next().map(capitalize).unwrap_or_default();
        if !name.is_empty() {
            out.notes.push(format!("company name {name:?} guessed from the domain"));
            out.company = Some(name);
        }
    }
    out
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            guess_company: true,
            ..Settings::default()
        }
    }

    fn attr<'a>(e: &'a Enrichment, key: &str) -> Option<&'a str> {
        e.attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str())
    }

    #[test]
    fn a_company_address_yields_its_domain_and_company() {
        let e = enrich(&settings(), &Lead::with_email("ada@eu.acme.com"));
        assert!(e.deliverable);
        assert_eq!(e.domain.as_deref(), Some("acme.com"));
        assert_eq!(e.company.as_deref(), Some("Acme"));
        assert_eq!(e.email, None);
        assert!(e.notes.contains(&"company domain acme.com from the email".to_owned()));
    }

    #[test]
    fn a_known_domain_or_company_is_left_alone() {
        let mut lead = Lead::with_email("ada@acme.com");
        lead.domain = "acme.io".to_owned();
        lead.company = "ACME Corp".to_owned();
        let e = enrich(&settings(), &lead);
        assert_eq!(e.domain, None);
        assert_eq!(e.company, None);
    }

    #[test]
    fn a_known_domain_is_normalized_and_a_mailbox_provider_cleared() {
        let mut lead = Lead::with_email("info@acme-industries.com");
        lead.domain = "Acme-Industries.com ".to_owned();
        let e = enrich(&settings(), &lead);
        assert_eq!(e.domain.as_deref(), Some("acme-industries.com"));
        let mut lead = Lead::with_email("jane@gmail.com");
        lead.domain = "gmail.com".to_owned();
        let e = enrich(&settings(), &lead);
        assert_eq!(e.domain.as_deref(), Some(""));
        let mut lead = Lead::with_email("jane@gmail.com");
        lead.domain = "janes-bakery.com".to_owned();
        assert_eq!(enrich(&settings(), &lead).domain, None);
    }

    #[test]
    fn role_accounts_are_flagged() {
        for email in [
            "info@acme.com",
            "sales@acme.com",
            "sales.emea@acme.com",
            "no-reply@acme.com",
        ] {
            let e = enrich(&settings(), &Lead::with_email(email));
            assert_eq!(attr(&e, "role_account"), Some("true"), "{email}");
            assert!(e.deliverable);
        }
        let e = enrich(&settings(), &Lead::with_email("information.officer@acme.com"));
        assert_eq!(attr(&e, "role_account"), None);
    }

    #[test]
    fn free_mail_domains_are_flagged_and_give_no_company() {
        let e = enrich(&settings(), &Lead::with_email("someone@gmail.com"));
        assert_eq!(attr(&e, "free_mail"), Some("true"));
        assert_eq!(e.domain, None);
        assert_eq!(e.company, None);
        assert!(e.deliverable);
    }

    #[test]
    fn disposable_domains_are_undeliverable() {
        let e = enrich(&settings(), &Lead::with_email("x@mailinator.com"));
        assert!(!e.deliverable);
        assert_eq!(attr(&e, "disposable_domain"), Some("true"));
        assert_eq!(e.notes, vec!["disposable domain mailinator.com".to_owned()]);
        let e = enrich(&settings(), &Lead::with_email("x@eu.yopmail.com"));
        assert!(!e.deliverable);
    }

    #[test]
    fn bad_syntax_is_undeliverable_with_a_note() {
        let mut lead = Lead::with_email("");
        lead.email = "ada@@acme".to_owned();
        let e = enrich(&settings(), &lead);
        assert!(!e.deliverable);
        assert_eq!(attr(&e, "email_valid"), Some("false"));
        assert!(e.notes[0].starts_with("invalid email \"ada@@acme\""), "{:?}", e.notes);
    }

    #[test]
    fn normalization_changes_are_reported() {
        let mut lead = Lead::with_email("");
        lead.email = "John.Doe+promo@GoogleMail.com".to_owned();
        let e = enrich(&settings(), &lead);
        assert_eq!(e.email.as_deref(), Some("johndoe@gmail.com"));
        assert!(e.notes[0].starts_with("email normalized from"));
    }

    #[test]
    fn employee_counts_become_bands() {
        let mut lead = Lead::with_email("ada@acme.com");
        lead.employees = Some(120);
        assert_eq!(attr(&enrich(&settings(), &lead), "employee_band"), Some("51-200"));
        assert_eq!(employee_band(1), "1-10");
        assert_eq!(employee_band(11), "11-50");
        assert_eq!(employee_band(1000), "501-1000");
        assert_eq!(employee_band(10_001), "10001+");
    }

    #[test]
    fn configured_extra_lists_apply() {
        let settings = Settings {
            extra_free_mail: vec!["example-mail.com".to_owned()],
            extra_disposable: vec!["burner.test".to_owned()],
            extra_role_accounts: vec!["partners".to_owned()],
            guess_company: false,
        };
        assert_eq!(
            attr(&enrich(&settings, &Lead::with_email("a@example-mail.com")), "free_mail"),
            Some("true")
        );
        assert!(!enrich(&settings, &Lead::with_email("a@burner.test")).deliverable);
        assert_eq!(
            attr(
                &enrich(&settings, &Lead::with_email("partners@acme.com")),
                "role_account"
            ),
            Some("true")
        );
        assert_eq!(enrich(&settings, &Lead::with_email("a@acme.com")).company, None);
    }
}
