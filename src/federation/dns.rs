//! The one DNS question domain verification asks: the TXT records of a name, over UDP, of the
//! configured resolver (`dns_resolver`) or the system's first `nameserver`. Blocking: call from
//! `web::block`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// How long one question waits for its answer.
const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("no DNS resolver is configured (set dns_resolver)")]
    NoResolver,
    #[error("`{0}` is not a DNS name")]
    BadName(String),
    #[error("the DNS resolver did not answer in time")]
    Timeout,
    #[error("the DNS resolver answered {0}")]
    Refused(String),
    #[error("DNS: {0}")]
    Io(String),
}

/// The resolver to ask: `configured`, else the first `nameserver` of `/etc/resolv.conf`.
pub fn resolver(configured: Option<SocketAddr>) -> Result<SocketAddr, DnsError> {
    if let Some(addr) = configured {
        return Ok(addr);
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    system_resolver(&conf).ok_or(DnsError::NoResolver)
}

/// The first `nameserver` line of a `resolv.conf`, on port 53.
fn system_resolver(conf: &str) -> Option<SocketAddr> {
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
}

/// The TXT strings at `name` (each record's character-strings joined, RFC 7208 §3.3 style).
/// A name with no records (NXDOMAIN, or no TXT) answers an empty list.
pub fn txt_records(resolver: SocketAddr, name: &str) -> Result<Vec<String>, DnsError> {
    let fqdn = Name::from_ascii(format!("{}.", name.trim_end_matches('.')))
        .map_err(|_| DnsError::BadName(name.to_owned()))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(fqdn.clone(), RecordType::TXT));
    let id = query.metadata.id;
    let bytes = query.to_vec().map_err(|e| DnsError::Io(e.to_string()))?;
    let local: SocketAddr = match resolver {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(|e| DnsError::Io(e.to_string()))?;
    socket
        .connect(resolver)
        .map_err(|e| DnsError::Io(e.to_string()))?;
    socket
        .send(&bytes)
        .map_err(|e| DnsError::Io(e.to_string()))?;
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DnsError::Timeout);
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| DnsError::Io(e.to_string()))?;
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(DnsError::Timeout);
            }
            Err(e) => return Err(DnsError::Io(e.to_string())),
        };
        // Anything that is not the answer to this question (another id, garbage) is ignored:
        // a spoofed datagram must at least guess the id.
        let Ok(answer) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if answer.metadata.id != id || answer.queries.first().map(Query::name) != Some(&fqdn) {
            continue;
        }
        return match answer.metadata.response_code {
            ResponseCode::NoError => Ok(answer
                .answers
                .iter()
                // Whatever name a CNAME chain ends at: the resolver followed it.
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            ResponseCode::NXDomain => Ok(Vec::new()),
            other => Err(DnsError::Refused(other.to_string())),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_nameserver_on_port_53() {
        let conf = "# x\nsearch example.com\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n";
        assert_eq!(system_resolver(conf), Some("10.0.0.2:53".parse().unwrap()));
        assert_eq!(
            system_resolver("nameserver fe80::1%eth0\n"),
            Some("[fe80::1]:53".parse().unwrap())
        );
        assert_eq!(system_resolver("search x\n"), None);
    }
}
