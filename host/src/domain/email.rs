//! Email address normalization and per-tenant dedupe.
//!
//! A lead's identity within a tenant is its normalized address, so every
//! path that lets an address in (CSV import, lead sources, referrals,
//! suppression entries) goes through [`normalize`].
//!
//! What normalization does, and why:
//! - trims surrounding whitespace and lower-cases the whole address. Local
//!   parts are case-sensitive on paper, but no real mailbox provider treats
//!   them so, and treating `Bob@x.com` and `bob@x.com` as two leads would
//!   contact one person twice;
//! - accepts the dot-atom form of RFC 5322 (plus UTF-8 local parts, RFC 6531)
//!   and rejects quoted local parts, comments and IP-literal domains: they are
//!   valid on paper but practically never belong to a real prospect;
//! - converts internationalized domains to their ASCII (punycode) form, so
//!   `müller.de` and `xn--mller-kva.de` are one domain;
//! - enforces the RFC 5321 length limits (64-octet local part, 255-octet
//!   domain, 63-octet labels, 254-octet address).
//!
//! It does not strip `+tags` or Gmail dots: those are real, distinct
//! addresses that a person chose to give out.

use std::collections::HashMap;
use std::fmt;

/// RFC 5321 §4.5.3.1.1: the local part is at most 64 octets.
pub const MAX_LOCAL_LEN: usize = 64;
/// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
pub const MAX_DOMAIN_LEN: usize = 255;
/// RFC 1035 §2.3.4: a domain label is at most 63 octets.
pub const MAX_LABEL_LEN: usize = 63;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle
/// brackets, so the address itself is at most 254.
pub const MAX_ADDRESS_LEN: usize = 254;

/// Why a string is not a usable email address. The message says what is
/// wrong in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("the address is empty")]
    Empty,
    /// No `@` at all.
    #[error("there is no @")]
    NoAt,
    /// More than one unquoted `@`.
    #[error("there is more than one @")]
    TooManyAts,
    /// Nothing before the `@`.
    #[error("the part before the @ is empty")]
    EmptyLocalPart,
    /// Nothing after the `@`.
    #[error("the domain after the @ is empty")]
    EmptyDomain,
    /// Whitespace inside the address.
    #[error("the address contains a space")]
    ContainsSpace,
    /// A character the local part may not hold.
    #[error("the part before the @ contains {0:?}, which addresses may not hold")]
    BadLocalChar(char),
    /// Leading, trailing or doubled dots in the local part.
    #[error("the part before the @ has a misplaced dot")]
    BadLocalDot,
    /// Quoted local parts (`"john doe"@x.com`) are valid but never real prospects.
    #[error("quoted local parts are not supported")]
    QuotedLocalPart,
    /// The domain is not a valid host name.
    #[error("the domain {domain:?} is invalid: {reason}")]
    BadDomain {
        /// The domain as written.
        domain: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Longer than RFC 5321 allows.
    #[error("the {part} is {len} bytes long; the limit is {max}")]
    TooLong {
        /// `local part`, `domain` or `address`.
        part: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A trimmed, lower-cased, syntax-checked address with an ASCII domain.
/// The only way to make one is [`normalize`] (or [`NormalizedEmail::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalizedEmail {
    address: String,
    at: usize,
}

impl NormalizedEmail {
    /// Same as [`normalize`].
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        normalize(raw)
    }

    /// The whole address, such as `anna@example.com`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The ASCII domain after the `@`.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// Gives up the address string.
    pub fn into_string(self) -> String {
        self.address
    }
}

impl fmt::Display for NormalizedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl AsRef<str> for NormalizedEmail {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

/// Trims, lower-cases and checks an address; see the module docs for the
/// exact rules.
pub fn normalize(raw: &str) -> Result<NormalizedEmail, EmailError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(EmailError::Empty);
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(EmailError::ContainsSpace);
    }
    let at = trimmed.rfind('@').ok_or(EmailError::NoAt)?;
    let (local, domain) = (&trimmed[..at], &trimmed[at + 1..]);
    if local.starts_with('"') {
        return Err(EmailError::QuotedLocalPart);
    }
    if local.contains('@') {
        return Err(EmailError::TooManyAts);
    }
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    check_local(local)?;
    let domain = normalize_domain(domain)?;

    let mut address = String::with_capacity(trimmed.len());
    if local.is_ascii() {
        address.extend(local.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        address.push_str(&local.to_lowercase());
    }
    if address.len() > MAX_LOCAL_LEN {
        return Err(EmailError::TooLong {
            part: "local part",
            len: address.len(),
            max: MAX_LOCAL_LEN,
        });
    }
    let at = address.len();
    address.push('@');
    address.push_str(&domain);
    if address.len() > MAX_ADDRESS_LEN {
        return Err(EmailError::TooLong {
            part: "address",
            len: address.len(),
            max: MAX_ADDRESS_LEN,
        });
    }
    Ok(NormalizedEmail { address, at })
}

/// The domain of an address as written: whatever follows the last `@`,
/// unchecked and not lower-cased (use [`NormalizedEmail::domain`] for a
/// normalized one). `None` when there is no `@` or nothing after it.
pub fn domain_of(email: &str) -> Option<&str> {
    let domain = email.trim().rsplit_once('@')?.1;
    (!domain.is_empty()).then_some(domain)
}

/// Checks the dot-atom local part: RFC 5322 `atext` plus UTF-8 (RFC 6531).
fn check_local(local: &str) -> Result<(), EmailError> {
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::BadLocalDot);
    }
    let bad = local.chars().find(|&c| {
        !(c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()) || c.is_control()
    });
    match bad {
        Some(c) => Err(EmailError::BadLocalChar(c)),
        None => Ok(()),
    }
}

/// Lower-cases a domain, converts an internationalized one to punycode and
/// checks it is a plausible public host name (at least two labels, labels of
/// letters, digits and inner hyphens, a non-numeric top-level label).
/// A single trailing dot (the DNS root) is dropped.
pub fn normalize_domain(domain: &str) -> Result<String, EmailError> {
    let bad = |reason| EmailError::BadDomain {
        domain: domain.to_owned(),
        reason,
    };
    let trimmed = domain.strip_suffix('.').unwrap_or(domain);
    if trimmed.starts_with('[') {
        return Err(bad("IP-address domains are not supported"));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        // url's host parser applies UTS #46 (IDNA) mapping and punycode.
        match url::Host::parse(trimmed) {
            Ok(url::Host::Domain(d)) => d,
            Ok(_) => return Err(bad("IP-address domains are not supported")),
            Err(_) => return Err(bad("it is not a valid internationalized domain")),
        }
    };
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(EmailError::TooLong {
            part: "domain",
            len: ascii.len(),
            max: MAX_DOMAIN_LEN,
        });
    }
    let mut labels = 0;
    let mut last = "";
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(bad("it has an empty label (two dots in a row?)"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad("a label is longer than 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad("only letters, digits, hyphens and dots are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label starts or ends with a hyphen"));
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(bad("it has no top-level domain"));
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the top-level domain is numeric"));
    }
    Ok(ascii)
}

/// Remembers which normalized addresses were already seen, so each person is
/// one lead per tenant. A set at heart, except that each address keeps the
/// tag it was first seen with (an import line number, say) so a duplicate
/// can point at the original.
///
/// One `Deduper` per tenant: addresses of different tenants never collide.
#[derive(Debug, Default, Clone)]
pub struct Deduper {
    first_seen: HashMap<String, u64>,
}

impl Deduper {
    /// An empty deduper.
    pub fn new() -> Self {
        Self::default()
    }

    /// A deduper that already knows `known` (for example the tenant's
    /// existing leads), all tagged 0.
    pub fn with_known<I, S>(known: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            first_seen: known.into_iter().map(|s| (s.into(), 0)).collect(),
        }
    }

    /// Records `email`; returns true the first time it is seen.
    pub fn insert(&mut self, email: &NormalizedEmail) -> bool {
        self.first_seen_with(email, 0).is_none()
    }

    /// Records `email` with `tag`; returns `None` the first time, or the tag
    /// it was first seen with.
    pub fn first_seen_with(&mut self, email: &NormalizedEmail, tag: u64) -> Option<u64> {
        if let Some(&first) = self.first_seen.get(email.as_str()) {
            return Some(first);
        }
        self.first_seen.insert(email.as_str().to_owned(), tag);
        None
    }

    /// True when `email` was already seen.
    pub fn contains(&self, email: &NormalizedEmail) -> bool {
        self.first_seen.contains_key(email.as_str())
    }

    /// How many distinct addresses were seen.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// True when nothing was seen yet.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        normalize(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}")).into_string()
    }

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(ok("  Anna.Schmidt@Example.COM \t"), "anna.schmidt@example.com");
    }

    #[test]
    fn plus_tags_and_odd_but_legal_characters_are_kept() {
        assert_eq!(ok("o'brien+sales@acme.io"), "o'brien+sales@acme.io");
        assert_eq!(ok("a_b-c.d@sub.acme.co.uk"), "a_b-c.d@sub.acme.co.uk");
    }

    #[test]
    fn the_parts_are_split_at_the_at() {
        let e = normalize("Bob@Acme.com").unwrap();
        assert_eq!(e.local_part(), "bob");
        assert_eq!(e.domain(), "acme.com");
    }

    #[test]
    fn internationalized_domains_become_punycode() {
        assert_eq!(ok("jürgen@Müller.de"), "jürgen@xn--mller-kva.de");
        assert_eq!(ok("info@xn--mller-kva.de"), "info@xn--mller-kva.de");
    }

    #[test]
    fn a_trailing_root_dot_is_dropped() {
        assert_eq!(ok("a@b.com."), "a@b.com");
    }

    #[test]
    fn bad_addresses_say_why() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("anna.example.com", EmailError::NoAt),
            ("@example.com", EmailError::EmptyLocalPart),
            ("anna@", EmailError::EmptyDomain),
            ("an na@example.com", EmailError::ContainsSpace),
            ("a@b@example.com", EmailError::TooManyAts),
            (".anna@example.com", EmailError::BadLocalDot),
            ("an..na@example.com", EmailError::BadLocalDot),
            ("an,na@example.com", EmailError::BadLocalChar(',')),
            ("\"an na\"@example.com", EmailError::ContainsSpace),
            ("\"anna\"@example.com", EmailError::QuotedLocalPart),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn bad_domains_are_rejected_with_a_reason() {
        for raw in [
            "a@localhost",
            "a@example..com",
            "a@-example.com",
            "a@exa_mple.com",
            "a@[127.0.0.1]",
            "a@1.2.3.4",
            "a@example.com-",
        ] {
            let err = normalize(raw).expect_err(raw);
            assert!(matches!(err, EmailError::BadDomain { .. }), "{raw}: {err:?}");
            assert!(err.to_string().contains("domain"), "{err}");
        }
    }

    #[test]
    fn rfc_5321_length_limits_are_enforced() {
        let local = "a".repeat(65);
        assert!(matches!(
            normalize(&format!("{local}@example.com")),
            Err(EmailError::TooLong {
                part: "local part",
                len: 65,
                max: 64
            })
        ));
        let label = "b".repeat(64);
        assert!(matches!(
            normalize(&format!("a@{label}.com")),
            Err(EmailError::BadDomain { .. })
        ));
        let long_domain = vec!["c".repeat(60); 4].join(".") + ".com";
        assert!(matches!(
            normalize(&format!("{}@{long_domain}", "a".repeat(10))),
            Err(EmailError::TooLong { part: "address", .. })
        ));
        assert!(normalize(&format!("{}@example.com", "a".repeat(64))).is_ok());
    }

    #[test]
    fn domain_of_takes_what_follows_the_last_at() {
        assert_eq!(domain_of("anna@example.com"), Some("example.com"));
        assert_eq!(domain_of("no-at"), None);
        assert_eq!(domain_of("anna@"), None);
    }

    #[test]
    fn the_deduper_spots_the_same_person_written_differently() {
        let mut d = Deduper::new();
        assert_eq!(d.first_seen_with(&normalize("Anna@X.com").unwrap(), 2), None);
        assert_eq!(d.first_seen_with(&normalize(" anna@x.com").unwrap(), 9), Some(2));
        assert!(d.insert(&normalize("bob@x.com").unwrap()));
        assert!(!d.insert(&normalize("BOB@x.com").unwrap()));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn a_deduper_can_start_from_known_addresses() {
        let mut d = Deduper::with_known(["anna@x.com"]);
        assert!(!d.insert(&normalize("ANNA@x.com").unwrap()));
    }
}
