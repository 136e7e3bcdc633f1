use crate::accounts::types::User;
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::{Sid, UserId};

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
}

/// A live session and its user, as resolved from a cookie.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub session: SessionRecord,
    pub user: User,
}
