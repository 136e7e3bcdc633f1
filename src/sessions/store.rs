//! The storage browser sessions need. Implemented over diesel in `crate::store`.

use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::{OrgId, Sid, UserId};
use crate::sessions::types::{CurrentSession, SessionRecord};
use crate::store::StoreResult;

pub trait SessionStore {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// The session with this hash and its user, if it exists (expiry is the caller's rule).
    fn find_session(&self, id_hash: &HashedSessionId) -> StoreResult<Option<CurrentSession>>;
    /// The session with this public `sid` and its user (for grants bound to a session).
    fn find_session_by_sid(&self, sid: &Sid) -> StoreResult<Option<CurrentSession>>;
    /// Records activity; a no-op when the session is gone.
    fn touch_session(&self, id_hash: &HashedSessionId, now: UnixTime) -> StoreResult<()>;
    /// Deletes the session and revokes the OAuth grants bound to it; returns it, if it existed.
    fn delete_session(
        &self,
        id_hash: &HashedSessionId,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>>;
    /// Steps the session up in place (a completed sign-in of the same user): a new cookie hash,
    /// the methods and `auth_time` of that sign-in; the `sid`, and so the grants bound to it,
    /// stay. Returns the session as updated, or `None` when it is gone.
    fn step_up_session(
        &self,
        id_hash: &HashedSessionId,
        new_hash: &HashedSessionId,
        amr: &[String],
        auth_time: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>>;
    /// Sets (or clears) the session's active organisation; `false` when the session is gone.
    fn set_session_org(&self, id_hash: &HashedSessionId, org: Option<&OrgId>) -> StoreResult<bool>;
    fn delete_user_sessions(&self, user_id: &UserId) -> StoreResult<usize>;
    /// Deletes sessions past their absolute expiry or idle since before `idle_cutoff`, and
    /// revokes the OAuth grants bound to them, as sign-out does.
    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize>;
}
