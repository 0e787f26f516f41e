//! Which addresses a plugin's HTTP requests may connect to, checked after
//! name resolution: an allowed name (or a `*.domain` wildcard) whose DNS
//! answers a loopback, private, link-local, unique-local, multicast or
//! unspecified address is refused, unless the manifest's allow-list names
//! that address literally (`127.0.0.1:*`, `[::1]:8080`). The check is in the
//! resolver the plugin's HTTP client connects through, so the address
//! checked is the address connected to: there is no second lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::host_pattern::HostPattern;

/// Whether `ip` is a public unicast address: not loopback, private (RFC
/// 1918, CGNAT), link-local (169.254/16 holds cloud metadata services),
/// unique-local (fc00::/7), multicast, broadcast, documentation or
/// unspecified. IPv4-mapped and -compatible IPv6 forms are judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, private in practice.
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15: benchmarking; 240.0.0.0/4: reserved.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    // ::a.b.c.d, the deprecated IPv4-compatible form, as IPv4.
    if let [0, 0, 0, 0, 0, 0, _, _] = ip.segments()
        && !ip.is_unspecified()
        && !ip.is_loopback()
    {
        let [.., a, b, c, d] = ip.octets();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // 2001:db8::/32 documentation.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// Whether a request may connect to `ip`: a public address, or one the
/// allow-list names literally.
pub fn may_connect(allow: &[HostPattern], ip: IpAddr) -> bool {
    is_public(ip) || allow.iter().any(|pattern| pattern.names_ip(ip))
}

/// A name that resolved only to addresses the plugin may not connect to.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} resolves to {addresses}, which is not a public address; name the address itself in the manifest's http allow-list to allow it"
)]
pub struct NonPublicAddress {
    /// The name requested.
    pub name: String,
    /// What it resolved to, comma-separated.
    pub addresses: String,
}

/// The resolver of a plugin's HTTP client: the system's lookup, then
/// [`may_connect`] on every address; the refused ones are dropped, and a
/// name left with none fails with [`NonPublicAddress`].
#[derive(Debug)]
pub struct CheckedResolver {
    allow: Arc<[HostPattern]>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (usable, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|addr| may_connect(&allow, addr.ip()));
            if usable.is_empty() {
                let addresses = refused
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(NonPublicAddress { name: host, addresses }) as _);
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for a plugin allowed to reach `allow`: no automatic
/// redirects (the `http` import follows them, checking each hop), cam's
/// user agent, and the [`CheckedResolver`].
pub fn plugin_http_client(allow: &[HostPattern]) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cam/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CheckedResolver { allow: allow.into() }))
        .build()
}

/// Whether `error` (a reqwest error's chain) is a [`NonPublicAddress`] refusal.
pub fn non_public_address<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a NonPublicAddress> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<NonPublicAddress>() {
            return Some(refused);
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn private_loopback_link_local_and_their_v6_forms_are_not_public() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(address)), "{address}");
        }
        for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(ip(address)), "{address}");
        }
    }

    #[test]
    fn a_non_public_address_is_allowed_only_when_named_literally() {
        let allow: Vec<HostPattern> = ["localhost:*", "127.0.0.1:*", "[::1]:8080", "*.example.com"]
            .iter()
            .map(|p| p.parse().expect("pattern"))
            .collect();
        assert!(may_connect(&allow, ip("127.0.0.1")));
        assert!(
            may_connect(&allow, ip("::ffff:127.0.0.1")),
            "the mapped form is the same address"
        );
        assert!(may_connect(&allow, ip("::1")));
        assert!(!may_connect(&allow, ip("127.0.0.2")));
        assert!(!may_connect(&allow, ip("169.254.169.254")));
        assert!(may_connect(&allow, ip("1.1.1.1")));
    }
}
