//! Client addresses as limits count them. Neutral: used by the sign-in throttle and the device
//! authorization limit alike, so both count the same unit.

use std::net::{IpAddr, Ipv6Addr};

/// The unit a per-address limit counts: an IPv4 address (an IPv4-mapped IPv6 address,
/// `::ffff:a.b.c.d`, is that IPv4 address), or the /64 of an IPv6 address — the block one
/// subscriber is usually given, which they could otherwise rotate through.
pub fn subscriber(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_per_address_ipv6_per_64() {
        let key = |s: &str| subscriber(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::ffff"), key("2001:db8:1:2:ab::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
