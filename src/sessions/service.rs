//! Browser sessions: created at sign-in with a fresh id (no fixation), resolved from the cookie
//! on each request, ended at sign-out. Stored in the database so every instance shares them.

use std::time::Duration;

use super::types::{CurrentSession, SessionRecord};
use crate::accounts::types::{Organisation, User};
use crate::audit::AuditStore;
use crate::audit::{AuditEvent, AuditKind, RequestMeta};
use crate::clock::{Clock, UnixTime};
use crate::config::SessionSettings;
use crate::credentials::{PlainSessionId, kind};
use crate::crypto;
use crate::ids::{OrgId, Sid};
use crate::sessions::store::SessionStore;
use crate::store::StoreResult;

/// Activity is written at most this often, so reads do not each cost a write (see
/// [`SessionPolicy::touch_every`]).
const TOUCH_EVERY_MAX: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: i64,
    pub absolute: i64,
}

impl SessionPolicy {
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            idle: idle.as_secs() as i64,
            absolute: absolute.as_secs() as i64,
        }
    }

    /// How stale `last_seen_at` may get before a request writes it again: at most 60 s, and at
    /// most a quarter of the idle timeout. Activity between two writes is not recorded, so a
    /// session can idle out up to this much early; bounding it by `idle / 4` means a session
    /// used at least every three quarters of its idle timeout never idles out, however short
    /// the timeout (with a fixed 60 s, a 20 s timeout ended sessions in use every 5 s).
    pub fn touch_every(&self) -> i64 {
        (self.idle / 4).min(TOUCH_EVERY_MAX)
    }

    /// The policy in force for a session acting in `org` (issue #14): the organisation's idle
    /// and absolute timeouts where they are shorter than the server's (they are set within the
    /// server's bounds, and a longer one never extends a session). One rule, applied by
    /// [`SessionPolicy::is_live`] wherever a session is resolved.
    pub fn within(self, org: Option<&Organisation>) -> SessionPolicy {
        let Some(org) = org else { return self };
        SessionPolicy {
            idle: org
                .session_idle_timeout
                .map_or(self.idle, |t| t.min(self.idle)),
            absolute: org
                .session_absolute_timeout
                .map_or(self.absolute, |t| t.min(self.absolute)),
        }
    }

    /// Neither past its absolute expiry nor idle for too long, under the policy of the
    /// organisation it acts in ([`SessionPolicy::within`]). An organisation's absolute
    /// lifetime counts from the session's start (`created_at`), not from its last
    /// re-authentication: a step-up must not extend it, and switching into the organisation
    /// later applies it at once (a session older than it ends on its next request).
    pub fn is_live(&self, c: &CurrentSession, now: UnixTime) -> bool {
        self.record_is_live(&c.session, c.org.as_ref().map(|m| &m.org), now)
    }

    /// [`SessionPolicy::is_live`] for a stored session and the organisation it acts in.
    pub fn record_is_live(
        &self,
        s: &SessionRecord,
        org: Option<&Organisation>,
        now: UnixTime,
    ) -> bool {
        let p = self.within(org);
        now < s.expires_at && now < s.created_at + p.absolute && now < s.last_seen_at + p.idle
    }
}

impl From<&SessionSettings> for SessionPolicy {
    fn from(sessions: &SessionSettings) -> Self {
        Self::new(sessions.idle_timeout, sessions.absolute_timeout)
    }
}

/// The cookie value: 256 random bits. Only its hash reaches the database.
pub type SessionSecret = PlainSessionId;

impl crate::credentials::Plain<kind::SessionId> {
    pub fn from_cookie(value: &str) -> Self {
        Self::new(value)
    }
}

pub fn start<S: SessionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
    user: &User,
    amr: &[&str],
    org: Option<OrgId>,
    meta: &RequestMeta,
) -> StoreResult<(SessionSecret, SessionRecord)> {
    let secret = SessionSecret::new(crypto::random_token());
    let now = clock.now();
    let record = SessionRecord {
        id_hash: secret.hash(),
        sid: Sid::generate(),
        user_id: user.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.absolute,
        auth_time: now,
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(512).collect()),
        org_id: org,
    };
    store.insert_session(&record)?;
    Ok((secret, record))
}

/// The live session for a cookie value, or `None` when it is unknown, expired (idle or
/// absolute) or its user is disabled.
pub fn resolve<S: SessionStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
    secret: &SessionSecret,
) -> StoreResult<Option<CurrentSession>> {
    let now = clock.now();
    let Some(current) = store.find_session(&secret.hash())? else {
        return Ok(None);
    };
    if !policy.is_live(&current, now) {
        // Expiry ends the session as sign-out does, with the OAuth grants bound to it.
        store.delete_session(&current.session.id_hash, now)?;
        return Ok(None);
    }
    if current.user.disabled {
        return Ok(None);
    }
    let in_force = policy.within(current.org.as_ref().map(|m| &m.org));
    if now - current.session.last_seen_at >= in_force.touch_every() {
        store.touch_session(&current.session.id_hash, now)?;
    }
    Ok(Some(current))
}

pub fn end<S: SessionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    secret: &SessionSecret,
    meta: &RequestMeta,
) -> StoreResult<Option<SessionRecord>> {
    let ended = store.delete_session(&secret.hash(), clock.now())?;
    if let Some(s) = &ended {
        store.record_event(
            &AuditEvent::new(clock.now(), AuditKind::SignedOut, meta)
                .in_org(s.org_id.as_ref())
                .user(&s.user_id),
        )?;
    }
    Ok(ended)
}

/// Deletes expired sessions; run periodically in the background.
pub fn prune<S: SessionStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
) -> StoreResult<usize> {
    let now = clock.now();
    store.prune_sessions(now, now - policy.idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_interval_follows_the_idle_timeout() {
        let policy =
            |idle| SessionPolicy::new(Duration::from_secs(idle), Duration::from_secs(36_000));
        assert_eq!(policy(30 * 60).touch_every(), 60);
        assert_eq!(policy(240).touch_every(), 60);
        assert_eq!(policy(20).touch_every(), 5);
        // Under 4 s every request is written.
        assert_eq!(policy(3).touch_every(), 0);
    }

    #[test]
    fn an_organisation_only_shortens_the_servers_lifetimes() {
        let server = SessionPolicy {
            idle: 1800,
            absolute: 36_000,
        };
        let mut org = Organisation::new(OrgId::new("org_a"), "a".into(), 0);
        assert_eq!(server.within(None).idle, 1800);
        assert_eq!(server.within(Some(&org)).absolute, 36_000);
        org.session_idle_timeout = Some(600);
        org.session_absolute_timeout = Some(99_999);
        let p = server.within(Some(&org));
        assert_eq!((p.idle, p.absolute), (600, 36_000));
    }
}
