//! Suppression: addresses and domains a tenant must never contact again.
//!
//! Suppression is kept apart from the lead lifecycle on purpose: an
//! unsubscribed or hard-bounced address stays suppressed whatever state its
//! lead is in, in every campaign of the tenant, and even after the same
//! address is imported again. The store persists the list; this module only
//! answers "may we write to this address?" over plain data.

use std::collections::HashSet;

use super::email::{EmailError, NormalizedEmail, normalize, normalize_domain};
use super::model::SuppressionReason;

/// Why an address is suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressionHit {
    /// The address itself is on the list.
    Address(String),
    /// The address's domain, or a parent of it, is on the list.
    Domain(String),
}

impl std::fmt::Display for SuppressionHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SuppressionHit::Address(a) => write!(f, "the address {a} is suppressed"),
            SuppressionHit::Domain(d) => write!(f, "the domain {d} is suppressed"),
        }
    }
}

/// Whether an operator may take an entry off the list, and if not, why.
///
/// What the recipient asked for (an unsubscribe, a spam complaint) binds
/// the sender by law (CAN-SPAM, GDPR, PECR) and is never lifted by hand;
/// what the mail system or an operator put there (bounces, manual entries)
/// may be, say after the address was fixed.
pub fn may_be_lifted(reason: SuppressionReason) -> Result<(), &'static str> {
    match reason {
        SuppressionReason::Unsubscribe => Err("the recipient unsubscribed; only they can undo that, by writing in"),
        SuppressionReason::Complaint => Err("the recipient reported spam; writing to them again is not allowed"),
        SuppressionReason::HardBounce | SuppressionReason::SoftBounces | SuppressionReason::Manual => Ok(()),
    }
}

/// One tenant's suppressed addresses and domains.
///
/// A suppressed domain also covers its subdomains: suppressing `acme.com`
/// suppresses `anna@acme.com` and `bob@eu.acme.com`, but not
/// `carl@notacme.com`.
#[derive(Debug, Default, Clone)]
pub struct SuppressionList {
    addresses: HashSet<String>,
    domains: HashSet<String>,
}

impl SuppressionList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Suppresses one address.
    pub fn add_address(&mut self, email: &NormalizedEmail) {
        self.addresses.insert(email.as_str().to_owned());
    }

    /// Normalizes and suppresses one address written by a person or a file.
    pub fn add_raw_address(&mut self, raw: &str) -> Result<(), EmailError> {
        self.add_address(&normalize(raw)?);
        Ok(())
    }

    /// Suppresses a domain and all its subdomains. Accepts `Acme.com`,
    /// `@acme.com` and internationalized names.
    pub fn add_domain(&mut self, domain: &str) -> Result<(), EmailError> {
        let domain = domain.trim();
        let domain = domain.strip_prefix('@').unwrap_or(domain);
        self.domains.insert(normalize_domain(domain)?);
        Ok(())
    }

    /// Whether `email` is suppressed, and why. The address is checked first,
    /// then its domain and each parent domain (never the bare top-level).
    pub fn check(&self, email: &NormalizedEmail) -> Option<SuppressionHit> {
        if self.addresses.contains(email.as_str()) {
            return Some(SuppressionHit::Address(email.as_str().to_owned()));
        }
        if self.domains.is_empty() {
            return None;
        }
        let mut domain = email.domain();
        loop {
            if self.domains.contains(domain) {
                return Some(SuppressionHit::Domain(domain.to_owned()));
            }
            match domain.split_once('.') {
                // Stop before the bare top-level domain: suppressing `com`
                // is not something normalize_domain lets in anyway.
                Some((_, parent)) if parent.contains('.') => domain = parent,
                _ => return None,
            }
        }
    }

    /// How many addresses and domains are on the list.
    pub fn len(&self) -> usize {
        self.addresses.len() + self.domains.len()
    }

    /// True when nothing is suppressed.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.domains.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> NormalizedEmail {
        normalize(s).unwrap()
    }

    #[test]
    fn a_suppressed_address_is_caught_however_it_is_written() {
        let mut list = SuppressionList::new();
        list.add_raw_address("Anna@Example.com").unwrap();
        assert_eq!(
            list.check(&email(" ANNA@example.com")),
            Some(SuppressionHit::Address("anna@example.com".into()))
        );
        assert_eq!(list.check(&email("bob@example.com")), None);
    }

    #[test]
    fn a_suppressed_domain_covers_its_subdomains_only() {
        let mut list = SuppressionList::new();
        list.add_domain("@Acme.com").unwrap();
        let hit = Some(SuppressionHit::Domain("acme.com".into()));
        assert_eq!(list.check(&email("anna@acme.com")), hit);
        assert_eq!(list.check(&email("bob@eu.sales.acme.com")), hit);
        assert_eq!(list.check(&email("carl@notacme.com")), None);
        assert_eq!(list.check(&email("dora@acme.com.evil.io")), None);
    }

    #[test]
    fn internationalized_domains_match_their_punycode() {
        let mut list = SuppressionList::new();
        list.add_domain("müller.de").unwrap();
        assert!(list.check(&email("jo@xn--mller-kva.de")).is_some());
    }

    #[test]
    fn an_address_hit_is_reported_before_a_domain_hit() {
        let mut list = SuppressionList::new();
        list.add_domain("acme.com").unwrap();
        list.add_raw_address("anna@acme.com").unwrap();
        assert!(matches!(
            list.check(&email("anna@acme.com")),
            Some(SuppressionHit::Address(_))
        ));
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn bad_domains_are_refused() {
        assert!(SuppressionList::new().add_domain("com").is_err());
        assert!(SuppressionList::new().add_domain("").is_err());
    }

    #[test]
    fn what_a_recipient_asked_for_is_never_lifted_by_hand() {
        assert!(may_be_lifted(SuppressionReason::Unsubscribe).is_err());
        assert!(may_be_lifted(SuppressionReason::Complaint).is_err());
        assert!(may_be_lifted(SuppressionReason::Manual).is_ok());
        assert!(may_be_lifted(SuppressionReason::HardBounce).is_ok());
    }
}
