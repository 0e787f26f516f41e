//! Outbound HTTP allow-list entries: `host[:port]` patterns, parsed once and
//! matched against parsed URLs, never compared as raw strings.

use std::fmt;
use std::str::FromStr;

/// Which hosts a pattern matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    /// Exactly this host name or IP literal (lower case, IDNA-encoded).
    Exact(String),
    /// Any strict subdomain of this domain (`*.example.com`).
    Subdomains(String),
}

/// Which ports a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatch {
    /// The scheme's default port only (80 for http, 443 for https).
    Default,
    /// Any port (`:*`).
    Any,
    /// Exactly this port.
    Exact(u16),
}

/// One allow-list entry such as `api.example.com`, `*.example.com:8443` or
/// `127.0.0.1:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: HostMatch,
    port: PortMatch,
}

/// Why an allow-list entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid allowed host `{pattern}`: {reason} (expected host[:port], e.g. `api.example.com`, `*.example.com`, `127.0.0.1:8080` or `localhost:*`)"
)]
pub struct HostPatternError {
    pattern: String,
    reason: &'static str,
}

impl FromStr for HostPattern {
    type Err = HostPatternError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let err = |reason| HostPatternError {
            pattern: raw.to_string(),
            reason,
        };
        let text = raw.trim();
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        if text.contains("://") || text.contains('/') || text.contains('@') || text.contains('?') {
            return Err(err("give a host, not a URL"));
        }
        // Split off a port; IPv6 literals come bracketed: `[::1]:8080`.
        let (host_part, port_part) = if let Some(rest) = text.strip_prefix('[') {
            let close = rest.find(']').ok_or_else(|| err("unclosed `[` in an IPv6 address"))?;
            let after = &rest[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(err("unexpected text after `]`")),
            };
            (&text[..close + 2], port)
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        let port = match port_part {
            None => PortMatch::Default,
            Some("*") => PortMatch::Any,
            Some(p) => PortMatch::Exact(p.parse().map_err(|_| err("the port is not a number from 1 to 65535"))?),
        };
        let (wildcard, bare) = match host_part.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host_part),
        };
        if bare.contains('*') {
            return Err(err("`*` is only allowed as a leading `*.`"));
        }
        // Let the URL parser normalize the host (case, IDNA, IP forms).
        let url = url::Url::parse(&format!("http://{bare}/")).map_err(|_| err("not a valid host name"))?;
        let host = url.host_str().ok_or_else(|| err("not a valid host name"))?.to_string();
        if wildcard && url.host().is_some_and(|h| !matches!(h, url::Host::Domain(_))) {
            return Err(err("a wildcard needs a domain name, not an IP address"));
        }
        let host = if wildcard {
            HostMatch::Subdomains(host)
        } else {
            HostMatch::Exact(host)
        };
        Ok(HostPattern { host, port })
    }
}

impl<'de> serde::Deserialize<'de> for HostPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostMatch::Exact(h) => f.write_str(h)?,
            HostMatch::Subdomains(h) => write!(f, "*.{h}")?,
        }
        match self.port {
            PortMatch::Default => Ok(()),
            PortMatch::Any => f.write_str(":*"),
            PortMatch::Exact(p) => write!(f, ":{p}"),
        }
    }
}

impl HostPattern {
    /// Whether this pattern allows a request to `url` (http or https only).
    pub fn allows(&self, url: &url::Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host_ok = match &self.host {
            HostMatch::Exact(h) => host == h,
            HostMatch::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
        };
        let port_ok = match self.port {
            PortMatch::Any => true,
            PortMatch::Default => url.port().is_none(),
            PortMatch::Exact(p) => url.port_or_known_default() == Some(p),
        };
        host_ok && port_ok
    }
}

impl HostPattern {
    /// Whether this pattern names `ip` literally (`127.0.0.1`, `[::1]`): the
    /// explicit permission a non-public address needs (see `net_policy`).
    pub fn names_ip(&self, ip: std::net::IpAddr) -> bool {
        self.literal_ip()
            .is_some_and(|named| named.to_canonical() == ip.to_canonical())
    }

    /// The address this pattern names, when its host is an IP literal.
    pub fn literal_ip(&self) -> Option<std::net::IpAddr> {
        match &self.host {
            HostMatch::Exact(host) => host.trim_start_matches('[').trim_end_matches(']').parse().ok(),
            HostMatch::Subdomains(_) => None,
        }
    }
}

/// Whether any pattern in `allow` permits `url`.
pub fn is_allowed(allow: &[HostPattern], url: &url::Url) -> bool {
    allow.iter().any(|p| p.allows(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(pattern: &str, url: &str) -> bool {
        let p: HostPattern = pattern.parse().expect("pattern parses");
        p.allows(&url::Url::parse(url).expect("url parses"))
    }

    #[test]
    fn exact_host_matches_only_itself_on_the_default_port() {
        assert!(allowed("api.example.com", "https://api.example.com/v1"));
        assert!(allowed("API.Example.com", "http://api.example.com/"));
        assert!(!allowed("api.example.com", "https://api.example.com:8443/"));
        assert!(!allowed("api.example.com", "https://api.example.com.evil.net/"));
        assert!(!allowed("api.example.com", "https://evilapi.example.com/"));
        assert!(!allowed("example.com", "https://api.example.com/"));
    }

    #[test]
    fn userinfo_tricks_do_not_fool_the_matcher() {
        assert!(!allowed("api.example.com", "https://api.example.com@evil.net/"));
        assert!(!allowed("api.example.com", "https://evil.net/?api.example.com"));
    }

    #[test]
    fn wildcards_match_strict_subdomains_only() {
        assert!(allowed("*.example.com", "https://a.b.example.com/"));
        assert!(!allowed("*.example.com", "https://example.com/"));
        assert!(!allowed("*.example.com", "https://badexample.com/"));
    }

    #[test]
    fn ports_are_matched_as_numbers() {
        assert!(allowed("127.0.0.1:*", "http://127.0.0.1:39999/x"));
        assert!(allowed("localhost:8080", "http://LOCALHOST:8080/"));
        assert!(!allowed("localhost:8080", "http://localhost:8081/"));
        assert!(allowed("[::1]:*", "http://[::1]:9000/"));
        assert!(allowed("example.com:443", "https://example.com/"));
    }

    #[test]
    fn only_http_schemes_are_allowed() {
        assert!(!allowed("example.com", "ftp://example.com/"));
        assert!(!allowed("example.com", "file://example.com/etc/passwd"));
    }

    #[test]
    fn malformed_patterns_are_rejected_with_a_reason() {
        for bad in [
            "",
            "https://example.com",
            "exa*mple.com",
            "example.com:99999",
            "*.127.0.0.1",
            "a/b",
        ] {
            let err = bad.parse::<HostPattern>().expect_err(bad);
            assert!(err.to_string().contains("expected host[:port]"), "{err}");
        }
    }
}
