//! The storage the audit log page needs. Implemented over diesel in `crate::store::audit`.

use crate::audit::AuditEvent;
use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

/// Which event types: one (`sso.signin`) or a family by prefix (`sso.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    Exact(String),
    Prefix(String),
}

/// Where a page starts (keyset paging on the event id, which only grows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    /// Events older than this id (the "Older" link).
    Before(i64),
    /// Events newer than this id (the "Newer" link).
    After(i64),
}

/// One query of an organisation's events. Always scoped to `org`: no query reads another
/// organisation's events, nor the server's (events without an organisation).
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub org: OrgId,
    /// Only events by one of these users (`None`: anyone's).
    pub actors: Option<Vec<UserId>>,
    pub kind: Option<KindFilter>,
    /// `at >= from`.
    pub from: Option<UnixTime>,
    /// `at <= to`.
    pub to: Option<UnixTime>,
    pub cursor: Cursor,
    pub limit: i64,
}

/// A stored event with its id and its actor's username (when the user still exists).
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub id: i64,
    pub actor_name: Option<String>,
    pub event: AuditEvent,
}

pub trait AuditLogStore {
    /// The events `q` selects, newest first, at most `q.limit` (for `Cursor::After`, the
    /// `limit` oldest newer than the cursor, still returned newest first). One statement.
    fn org_events(&self, q: &EventQuery) -> StoreResult<Vec<LoggedEvent>>;
    /// The users whose stored username or e-mail key is one of `keys` (any namespace).
    fn users_by_key(&self, keys: &[String]) -> StoreResult<Vec<UserId>>;
}
