//! Email syntax checks and normalization.
//!
//! The syntax accepted is the practical subset of RFC 5321/5322 that mail
//! providers deliver to: a dot-atom local part (no quoted strings, no
//! comments) and a host name with at least two labels and an alphabetic TLD.

use crate::domains;

/// Longest local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL: usize = 64;
/// Longest address (RFC 5321 path limit minus the angle brackets).
const MAX_ADDRESS: usize = 254;
/// Longest DNS label.
const MAX_LABEL: usize = 63;

/// An address split into its normalized parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Local part, lower case.
    pub local: String,
    /// Domain, lower case.
    pub domain: String,
}

impl Address {
    /// `local@domain`.
    pub fn to_email(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
}

/// Trims, strips `mailto:` and angle brackets, lower-cases, and checks the
/// syntax. The error says what is wrong.
pub fn parse(raw: &str) -> Result<Address, String> {
    let mut s = raw.trim();
    if s.len() >= 7 && s[..7].eq_ignore_ascii_case("mailto:") {
        s = s[7..].trim();
    }
    let s = s.trim_start_matches('<').trim_end_matches('>').trim();
    if s.is_empty() {
        return Err("empty address".to_owned());
    }
    if s.len() > MAX_ADDRESS {
        return Err(format!("longer than {MAX_ADDRESS} characters"));
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err("no @".to_owned());
    };
    let local = local.to_lowercase();
    let domain = domain.trim_end_matches('.').to_lowercase();
    check_local(&local)?;
    check_domain(&domain)?;
    Ok(Address { local, domain })
}

fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("empty local part".to_owned());
    }
    if local.len() > MAX_LOCAL {
        return Err(format!("local part longer than {MAX_LOCAL} characters"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("misplaced dot in the local part".to_owned());
    }
    if let Some(bad) = local.chars().find(|c| !is_atext(*c) && *c != '.') {
        return Err(format!("character {bad:?} not allowed in the local part"));
    }
    Ok(())
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (!c.is_ascii() && c.is_alphanumeric())
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("empty domain".to_owned());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("domain {domain:?} has no top-level domain"));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(format!("empty label in domain {domain:?}"));
        }
        if label.len() > MAX_LABEL {
            return Err(format!("label longer than {MAX_LABEL} characters in {domain:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
        if let Some(bad) = label.chars().find(|c| !(c.is_alphanumeric() || *c == '-')) {
            return Err(format!("character {bad:?} not allowed in domain {domain:?}"));
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("domain {domain:?} looks like an IP address"));
    }
    if tld.chars().count() < 2 {
        return Err(format!("top-level domain {tld:?} is too short"));
    }
    Ok(())
}

/// The canonical mailbox for providers that ignore `+tag` (and, at Gmail,
/// dots): `John.Doe+news@googlemail.com` → `johndoe@gmail.com`.
pub fn canonical(address: &Address) -> Address {
    let domain = if address.domain == "googlemail.com" {
        "gmail.com".to_owned()
    } else {
        address.domain.clone()
    };
    if !domains::contains(domains::PLUS_ADDRESSING, &domain) {
        return Address {
            local: address.local.clone(),
            domain,
        };
    }
    let mut local = address.local.split('+').next().unwrap_or_default().to_owned();
    if domain == "gmail.com" {
        local.retain(|c| c != '.');
    }
    if local.is_empty() {
        // `+tag@gmail.com` alone is not a mailbox we can shorten to.
        local = address.local.clone();
    }
    Address { local, domain }
}

/// The registrable domain (`eu.mail.acme.co.uk` → `acme.co.uk`), by the
/// common second-level suffixes; not the full public-suffix list.
pub fn registrable_domain(domain: &str) -> &str {
    const SECOND_LEVEL: &[&str] = &["ac", "co", "com", "edu", "gov", "ltd", "ne", "net", "or", "org", "plc"];
    let labels: Vec<&str> = domain.split('.').collect();
    let n = labels.len();
    if n <= 2 {
        return domain;
    }
    let keep = if labels[n - 2].len() <= 3 && SECOND_LEVEL.contains(&labels[n - 2]) && labels[n - 1].len() == 2 {
        3
    } else {
        2
    };
    let start: usize = labels[..n - keep].iter().map(|l| l.len() + 1).sum();
    &domain[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        parse(raw).unwrap().to_email()
    }

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        assert_eq!(ok("  Ada.Lovelace@Example.COM "), "ada.lovelace@example.com");
        assert_eq!(ok("mailto:ada@example.com"), "ada@example.com");
        assert_eq!(ok("<ada@example.com>"), "ada@example.com");
        assert_eq!(ok("ada@example.com."), "ada@example.com");
    }

    #[test]
    fn common_valid_shapes_pass() {
        for raw in [
            "o'brien@example.ie",
            "first_last+tag@sub.example.co.uk",
            "x@a-b.io",
            "jürgen@müller.de",
        ] {
            assert!(parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn broken_addresses_say_what_is_wrong() {
        let cases = [
            ("", "empty address"),
            ("ada.example.com", "no @"),
            ("@example.com", "empty local part"),
            ("ada@", "empty domain"),
            ("ada..l@example.com", "misplaced dot"),
            (".ada@example.com", "misplaced dot"),
            ("ada lovelace@example.com", "not allowed in the local part"),
            ("ada@localhost", "no top-level domain"),
            ("ada@example..com", "empty label"),
            ("ada@-example.com", "starts or ends with '-'"),
            ("ada@exa_mple.com", "not allowed in domain"),
            ("ada@10.0.0.1", "IP address"),
            ("ada@example.c", "too short"),
        ];
        for (raw, expected) in cases {
            let error = parse(raw).unwrap_err();
            assert!(error.contains(expected), "{raw}: {error}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(parse(&long_local).unwrap_err().contains("longer than 64"));
    }

    #[test]
    fn gmail_ignores_dots_and_tags() {
        let address = parse("John.Doe+news@googlemail.com").unwrap();
        assert_eq!(canonical(&address).to_email(), "johndoe@gmail.com");
    }

    #[test]
    fn outlook_ignores_tags_but_keeps_dots() {
        let address = parse("john.doe+x@outlook.com").unwrap();
        assert_eq!(canonical(&address).to_email(), "john.doe@outlook.com");
    }

    #[test]
    fn company_domains_keep_their_tags() {
        let address = parse("john+sales@acme.com").unwrap();
        assert_eq!(canonical(&address).to_email(), "john+sales@acme.com");
    }

    #[test]
    fn registrable_domains_drop_subdomains() {
        assert_eq!(registrable_domain("acme.com"), "acme.com");
        assert_eq!(registrable_domain("eu.mail.acme.com"), "acme.com");
        assert_eq!(registrable_domain("mail.acme.co.uk"), "acme.co.uk");
        assert_eq!(registrable_domain("acme.com.au"), "acme.com.au");
        assert_eq!(registrable_domain("shop.acme.de"), "acme.de");
    }
}
