//! An organisation's policies (issue #14): the API key lifetime ceiling, the legacy
//! `?api_key=` switch and the session lifetimes. One parser and one writer, shared by the
//! Policies page and `mintgate org set`, so both refuse the same values and both audit.

use super::store::OrgStore;
use super::types::Organisation;
use crate::apikeys::types::parse_expiry;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::UserId;
use crate::store::StoreResult;

/// The shortest session lifetime an organisation may set: shorter ones would end sessions
/// between two clicks (activity is written at most every quarter of the idle timeout).
pub const MIN_SESSION_LIFETIME: i64 = 5 * 60;

/// The organisation's policy values, as stored (seconds; `None`: no ceiling of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPolicy {
    pub api_key_max_lifetime: Option<i64>,
    pub api_key_legacy_query: bool,
    pub session_idle_timeout: Option<i64>,
    pub session_absolute_timeout: Option<i64>,
}

impl OrgPolicy {
    pub fn of(org: &Organisation) -> Self {
        Self {
            api_key_max_lifetime: org.api_key_max_lifetime,
            api_key_legacy_query: org.api_key_legacy_query,
            session_idle_timeout: org.session_idle_timeout,
            session_absolute_timeout: org.session_absolute_timeout,
        }
    }
}

/// The policy as typed on the page (lifetimes like `90d`, `8h`, `30m`; empty: the server's).
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub api_key_max_lifetime: String,
    pub api_key_legacy_query: bool,
    pub session_idle_timeout: String,
    pub session_absolute_timeout: String,
}

impl PolicyInput {
    /// The form's values for a stored policy.
    pub fn of(p: &OrgPolicy) -> Self {
        Self {
            api_key_max_lifetime: p
                .api_key_max_lifetime
                .map(format_lifetime)
                .unwrap_or_default(),
            api_key_legacy_query: p.api_key_legacy_query,
            session_idle_timeout: p
                .session_idle_timeout
                .map(format_lifetime)
                .unwrap_or_default(),
            session_absolute_timeout: p
                .session_absolute_timeout
                .map(format_lifetime)
                .unwrap_or_default(),
        }
    }
}

/// What was wrong with each field, for a message next to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyErrors {
    pub api_key_max_lifetime: Option<String>,
    pub session_idle_timeout: Option<String>,
    pub session_absolute_timeout: Option<String>,
}

/// The server's session lifetimes (seconds): an organisation's may only be shorter.
#[derive(Debug, Clone, Copy)]
pub struct ServerBounds {
    pub idle: i64,
    pub absolute: i64,
}

/// `90d`, `12h`, `30m`: the largest whole unit.
pub fn format_lifetime(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{}d", secs / 86_400)
    } else if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else {
        format!("{}m", (secs + 59) / 60)
    }
}

/// An API key lifetime ceiling: empty or `none` for none of the organisation's own (the
/// server's limit only), else `<N>m|h|d`.
pub fn parse_key_lifetime(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() || s == "none" {
        return Ok(None);
    }
    match parse_expiry(s) {
        Ok(Some(secs)) => Ok(Some(secs)),
        Ok(None) | Err(_) => Err(format!("`{s}` is not a lifetime like 90d (or none)")),
    }
}

/// A session lifetime: empty for the server's, else `<N>m|h|d` between
/// [`MIN_SESSION_LIFETIME`] and the server's own (`max`).
pub fn parse_session_lifetime(s: &str, max: i64) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let secs = match parse_expiry(s) {
        Ok(Some(secs)) => secs,
        Ok(None) | Err(_) => return Err(format!("`{s}` is not a lifetime like 30m, 8h or 1d")),
    };
    if secs < MIN_SESSION_LIFETIME {
        return Err("must be at least 5 minutes".to_owned());
    }
    if secs > max {
        return Err(format!(
            "must be at most the server's {} (leave empty for the server's)",
            format_lifetime(max)
        ));
    }
    Ok(Some(secs))
}

/// The page's input as a policy, or the message for each bad field.
pub fn parse(input: &PolicyInput, bounds: ServerBounds) -> Result<OrgPolicy, PolicyErrors> {
    let key = parse_key_lifetime(&input.api_key_max_lifetime);
    let idle = parse_session_lifetime(&input.session_idle_timeout, bounds.idle);
    let absolute = parse_session_lifetime(&input.session_absolute_timeout, bounds.absolute);
    match (key, idle, absolute) {
        (Ok(key), Ok(idle), Ok(absolute)) => Ok(OrgPolicy {
            api_key_max_lifetime: key,
            api_key_legacy_query: input.api_key_legacy_query,
            session_idle_timeout: idle,
            session_absolute_timeout: absolute,
        }),
        (key, idle, absolute) => Err(PolicyErrors {
            api_key_max_lifetime: key.err(),
            session_idle_timeout: idle.err(),
            session_absolute_timeout: absolute.err(),
        }),
    }
}

/// What changed between two policies, as `field old→new` items (`none`: the server's).
fn changes(old: &OrgPolicy, new: &OrgPolicy) -> Vec<String> {
    let life = |v: Option<i64>| v.map(format_lifetime).unwrap_or_else(|| "none".to_owned());
    let mut out = Vec::new();
    for (name, a, b) in [
        (
            "api_key_max_lifetime",
            old.api_key_max_lifetime,
            new.api_key_max_lifetime,
        ),
        (
            "session_idle_timeout",
            old.session_idle_timeout,
            new.session_idle_timeout,
        ),
        (
            "session_absolute_timeout",
            old.session_absolute_timeout,
            new.session_absolute_timeout,
        ),
    ] {
        if a != b {
            out.push(format!("{name} {}→{}", life(a), life(b)));
        }
    }
    if old.api_key_legacy_query != new.api_key_legacy_query {
        out.push(format!(
            "api_key_legacy_query {}→{}",
            old.api_key_legacy_query, new.api_key_legacy_query
        ));
    }
    out
}

/// Stores `policy` for `org` and audits `org.policy.set` (detail: what changed), with who did
/// it (`actor`: an administrator on the Policies page; `None` from the CLI). Nothing is written
/// or audited when nothing changed. Returns the organisation as updated.
pub fn set_policy<S: OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    policy: &OrgPolicy,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> StoreResult<Organisation> {
    let changed = changes(&OrgPolicy::of(org), policy);
    if changed.is_empty() {
        return Ok(org.clone());
    }
    store.set_org_key_policy(
        &org.id,
        policy.api_key_max_lifetime,
        policy.api_key_legacy_query,
    )?;
    store.set_org_session_policy(
        &org.id,
        policy.session_idle_timeout,
        policy.session_absolute_timeout,
    )?;
    let mut event = AuditEvent::new(clock.now(), AuditKind::OrgPolicySet, meta)
        .org(&org.id)
        .subject(&org.name)
        .detail(changed.join("; "));
    if let Some(actor) = actor {
        event = event.user(actor);
    }
    store.record_event(&event)?;
    Ok(Organisation {
        api_key_max_lifetime: policy.api_key_max_lifetime,
        api_key_legacy_query: policy.api_key_legacy_query,
        session_idle_timeout: policy.session_idle_timeout,
        session_absolute_timeout: policy.session_absolute_timeout,
        ..org.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: ServerBounds = ServerBounds {
        idle: 30 * 60,
        absolute: 10 * 3600,
    };

    fn input(key: &str, idle: &str, absolute: &str) -> PolicyInput {
        PolicyInput {
            api_key_max_lifetime: key.into(),
            api_key_legacy_query: false,
            session_idle_timeout: idle.into(),
            session_absolute_timeout: absolute.into(),
        }
    }

    #[test]
    fn lifetimes_within_the_servers_bounds() {
        let p = parse(&input("90d", "10m", "8h"), BOUNDS).unwrap();
        assert_eq!(p.api_key_max_lifetime, Some(90 * 86_400));
        assert_eq!(p.session_idle_timeout, Some(600));
        assert_eq!(p.session_absolute_timeout, Some(8 * 3600));
        let p = parse(&input("", "", ""), BOUNDS).unwrap();
        assert_eq!(p.session_idle_timeout, None);
        assert_eq!(p.api_key_max_lifetime, None);
        // Exactly the bounds are allowed.
        assert!(parse(&input("none", "5m", "10h"), BOUNDS).is_ok());
    }

    #[test]
    fn out_of_bounds_and_malformed_are_refused_per_field() {
        let e = parse(&input("soon", "4m", "11h"), BOUNDS).unwrap_err();
        assert!(e.api_key_max_lifetime.unwrap().contains("soon"));
        assert!(
            e.session_idle_timeout
                .unwrap()
                .contains("at least 5 minutes")
        );
        assert!(e.session_absolute_timeout.unwrap().contains("at most"));
        let e = parse(&input("90d", "31m", "1h"), BOUNDS).unwrap_err();
        assert!(e.api_key_max_lifetime.is_none());
        assert!(e.session_idle_timeout.is_some());
        assert!(e.session_absolute_timeout.is_none());
        assert!(parse(&input("", "never", ""), BOUNDS).is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["90d", "12h", "30m", "5m", "1d"] {
            let secs = parse_expiry(s).unwrap().unwrap();
            assert_eq!(format_lifetime(secs), s);
        }
    }

    #[test]
    fn changes_name_each_field() {
        let old = OrgPolicy {
            api_key_max_lifetime: None,
            api_key_legacy_query: true,
            session_idle_timeout: None,
            session_absolute_timeout: Some(3600),
        };
        let new = OrgPolicy {
            api_key_max_lifetime: Some(86_400),
            api_key_legacy_query: false,
            session_idle_timeout: None,
            session_absolute_timeout: Some(3600),
        };
        assert_eq!(
            changes(&old, &new),
            [
                "api_key_max_lifetime none→1d",
                "api_key_legacy_query true→false"
            ]
        );
        assert!(changes(&new, &new).is_empty());
    }
}
