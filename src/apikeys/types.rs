//! API key types: the key itself (only its hash is stored), applications, scopes and roles.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::config::CidrError;
use crate::ids::{ApplicationId, KeyId, OrgId, UserId};
use crate::scopes::{API_SCOPES, Scopes};

/// Who a key acts for, which decides its effective scopes and who may manage it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A member's key: it acts with at most its creator's current role, and only while the
    /// creator is an enabled member.
    User(UserId),
    /// Provisioned by an operator, or created by another organisation-owned credential: it
    /// belongs to the organisation, with its own scopes.
    Organisation,
    /// An application's own key (`admin` or `ci`); managed only with `admin`.
    Application(ApplicationId),
    /// A user key whose creator no longer exists: never valid (kept for the record).
    Orphaned,
}

impl KeyOwner {
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            KeyOwner::User(id) => Some(id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: KeyId,
    #[serde(skip)]
    pub org_id: OrgId,
    #[serde(skip)]
    pub owner: KeyOwner,
    pub name: String,
    pub hint: String,
    pub scopes: Scopes,
    pub allowed_ips: Vec<IpNet>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    #[serde(skip)]
    pub revoked_at: Option<UnixTime>,
}

impl ApiKey {
    pub fn ip_allowed(&self, ip: Option<IpAddr>) -> bool {
        self.allowed_ips.is_empty()
            || ip.is_some_and(|ip| self.allowed_ips.iter().any(|n| n.contains(&ip)))
    }

    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: ApplicationId,
    #[serde(skip)]
    pub org_id: OrgId,
    pub name: String,
    pub scope: String,
    pub created_at: UnixTime,
}

/// Why an expiry such as `30m` or `never` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("`{0}` is not an expiry like 30m, 24h, 7d or never")]
    Malformed(String),
    /// Zero, or more than ten years.
    #[error("`{0}` is out of range")]
    OutOfRange(String),
}

/// Why a new key, a rotation or an application was refused: the request's fault (`/v1`
/// answers 422). The text is what the caller is shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyInputError {
    #[error("name must be 1-100 characters, none of them a control character")]
    Name,
    #[error("scopes must name at least one scope")]
    NoScopes,
    #[error("unknown scope `{0}`; known: {known}", known = API_SCOPES.join(", "))]
    UnknownScope(String),
    #[error(transparent)]
    Expiry(#[from] ExpiryError),
    #[error(transparent)]
    Allowlist(#[from] CidrError),
    /// The lifetime ceiling in force (seconds).
    #[error("keys may live at most {} days here", .0 / 86_400)]
    BeyondCeiling(i64),
    #[error("a key cannot outlive the credential that creates it")]
    OutlivesCaller,
    #[error("scope must be admin or ci")]
    ApplicationScope,
    #[error("an application named `{0}` exists")]
    ApplicationExists(String),
}

/// Parses `30m`, `24h`, `7d`, `never`, any `<N>m|h|d`, into seconds (`None` = never).
pub fn parse_expiry(s: &str) -> Result<Option<i64>, ExpiryError> {
    // ASCII whitespace only: exactly what the OpenAPI pattern of `expires_in` allows.
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if s == "never" {
        return Ok(None);
    }
    let malformed = || ExpiryError::Malformed(s.to_owned());
    // By character, never by byte index: the input is arbitrary Unicode (`1é` must be an
    // error, not a panic on a split inside a character).
    let mut chars = s.chars();
    let factor = match chars.next_back() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(malformed()),
    };
    let n = chars.as_str();
    if n.is_empty() || n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let n: i64 = n.parse().map_err(|_| malformed())?;
    if n <= 0 || n > 3650 * 86_400 / factor {
        return Err(ExpiryError::OutOfRange(s.to_owned()));
    }
    Ok(Some(n * factor))
}

/// Parses `10.0.0.0/8,192.168.1.0/24` or a list of such strings.
pub fn parse_allowlist(items: &[String]) -> Result<Vec<IpNet>, CidrError> {
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(crate::config::parse_cidr)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry("30m").unwrap(), Some(1800));
        assert_eq!(parse_expiry("24h").unwrap(), Some(86_400));
        assert_eq!(parse_expiry("90d").unwrap(), Some(90 * 86_400));
        assert_eq!(parse_expiry("never").unwrap(), None);
        for bad in [
            "",
            "d",
            "7w",
            "-1d",
            "0h",
            "abc",
            "1é",
            "é",
            "1\u{10ffff}",
            "+1d",
            "1 d",
            "99999999999d",
        ] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_and_allowlist_errors_say_what_is_wrong() {
        assert_eq!(
            parse_expiry("7w").unwrap_err().to_string(),
            "`7w` is not an expiry like 30m, 24h, 7d or never"
        );
        assert_eq!(
            parse_expiry("0h").unwrap_err().to_string(),
            "`0h` is out of range"
        );
        assert_eq!(
            parse_allowlist(&["10.0.0.0/8, nope".into()])
                .unwrap_err()
                .to_string(),
            "`nope` is not an IP address or CIDR block"
        );
        assert_eq!(
            KeyInputError::BeyondCeiling(7 * 86_400).to_string(),
            "keys may live at most 7 days here"
        );
        assert_eq!(
            KeyInputError::UnknownScope("x".into()).to_string(),
            "unknown scope `x`; known: read:evaluations, write:evaluations, read:policies, \
             write:policies, read:org, write:org, ci, admin"
        );
    }

    #[test]
    fn allowlists() {
        let nets = parse_allowlist(&["10.0.0.0/8, 192.168.1.0/24".into(), "2001:db8::/32".into()])
            .unwrap();
        let key = ApiKey {
            id: KeyId::new("k"),
            org_id: OrgId::new("o"),
            owner: KeyOwner::Organisation,
            name: "n".into(),
            hint: "h".into(),
            scopes: Scopes::default(),
            allowed_ips: nets,
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        assert!(key.ip_allowed(Some("10.1.2.3".parse().unwrap())));
        assert!(key.ip_allowed(Some("2001:db8::7".parse().unwrap())));
        assert!(!key.ip_allowed(Some("192.168.2.1".parse().unwrap())));
        assert!(!key.ip_allowed(None));
        assert!(parse_allowlist(&["10.0.0.0/33".into()]).is_err());
    }
}
