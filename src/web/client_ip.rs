//! The client's address: the peer, or — only when the peer is a trusted proxy — the right-most
//! `X-Forwarded-For` entry that is not itself a trusted proxy. Left-most entries are whatever
//! the client chose to send and are never believed.
//!
//! Every address is canonical: an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack
//! socket reports IPv4 peers) is the IPv4 address, so trusted proxies, key allowlists and the
//! sign-in throttle all compare the same form.

use std::net::IpAddr;

use ipnet::IpNet;

pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?.to_canonical();
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut last_trusted = peer;
    for entry in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
        let Some(ip) = parse_entry(entry).map(|ip| ip.to_canonical()) else {
            // Garbage in the chain: stop at the last address we could vouch for.
            return Some(last_trusted);
        };
        if !is_trusted(&ip) {
            return Some(ip);
        }
        last_trusted = ip;
    }
    Some(last_trusted)
}

/// One `X-Forwarded-For` element: an address, possibly `[v6]` or `v4:port`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse() {
        return Some(ip);
    }
    if let Some(rest) = e.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    e.rsplit_once(':')
        .and_then(|(host, _port)| host.parse::<std::net::Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4_everywhere() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(Some(ip("::ffff:203.0.113.9")), &[], &trusted),
            Some(ip("203.0.113.9"))
        );
        // A mapped proxy address is trusted, and a mapped client address in the header is v4.
        assert_eq!(
            client_ip(
                Some(ip("::ffff:10.0.0.1")),
                &["::ffff:198.51.100.4"],
                &trusted
            ),
            Some(ip("198.51.100.4"))
        );
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), &["1.2.3.4"], &trusted),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn trusted_proxy_yields_rightmost_untrusted_entry() {
        let trusted = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let peer = Some(ip("10.0.0.2"));
        assert_eq!(
            client_ip(peer, &["6.6.6.6, 198.51.100.7, 10.0.0.1"], &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(
                peer,
                &["6.6.6.6", "2001:db8::1, [2001:db9::5]:443"],
                &trusted
            ),
            Some(ip("2001:db9::5"))
        );
        assert_eq!(
            client_ip(peer, &["198.51.100.7:1234"], &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(client_ip(peer, &[], &trusted), Some(ip("10.0.0.2")));
        assert_eq!(
            client_ip(peer, &["10.0.0.9"], &trusted),
            Some(ip("10.0.0.9"))
        );
        assert_eq!(
            client_ip(peer, &["1.1.1.1, junk"], &trusted),
            Some(ip("10.0.0.2"))
        );
    }
}
