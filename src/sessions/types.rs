use crate::accounts::types::{Membership, User};
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::{OrgId, Sid, UserId};

/// A stored browser session. The cookie value is never stored: `id_hash` is its hash.
/// `sid` is a separate random public identifier (OIDC `sid` claim), unrelated to the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: HashedSessionId,
    pub sid: Sid,
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// Absolute expiry.
    pub expires_at: UnixTime,
    /// When the user last authenticated (OIDC `auth_time`).
    pub auth_time: UnixTime,
    /// Authentication methods used (RFC 8176 values: `pwd`, later `otp`, `hwk`, `mfa`...).
    pub amr: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The organisation the session acts in (chosen at sign-in or on the picker page); `None`
    /// until chosen. Only counts while the user is still a member: see
    /// [`CurrentSession::org`].
    pub org_id: Option<OrgId>,
}

/// A live session and its user, as resolved from a cookie.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub session: SessionRecord,
    pub user: User,
    /// The active organisation and the user's role in it: `session.org_id` while the user is
    /// still a member of it; `None` when none is chosen or the membership is gone (a session
    /// whose membership ended acts as one that never chose).
    pub org: Option<Membership>,
}

impl CurrentSession {
    /// The active organisation's id, if any (see [`CurrentSession::org`]).
    pub fn org_id(&self) -> Option<&OrgId> {
        self.org.as_ref().map(|m| &m.org.id)
    }
}
