//! The inbox for SAML messages that arrive by a cross-site POST. Such a POST carries no
//! `SameSite=Lax` cookie, so neither the browser's sign-in flow (ACS) nor its session
//! (`/saml/sso`) can be read there. The message is kept under a random id (only its hash stored)
//! and the POST answers 303 to a same-site GET naming the id, which takes the message once and
//! reads the cookies. A message taken by another browser is useless to it: the SP checks the
//! Response's `InResponseTo` against the flow of the browser that takes it (no login CSRF).

use crate::clock::{Clock, UnixTime};
use crate::credentials::{HashedSamlInboxId, PlainSamlInboxId};
use crate::crypto;
use crate::store::StoreResult;

/// How long a kept message waits for its GET: the browser follows the 303 at once.
pub const INBOX_TTL: i64 = 300;
/// How many kept messages an address (IPv4, or IPv6 /64) may have waiting: a browser has one
/// or two; a flood of POSTs evicts its own oldest instead of filling the database.
pub const KEPT_PER_ADDRESS: usize = 20;

/// What the message is, which fixes where it may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// A `SAMLResponse` POSTed to a connection's ACS (`target`: the connection id).
    Response,
    /// A `SAMLRequest` POSTed to `/saml/sso` (`target`: empty).
    Request,
}

impl InboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Response => "response",
            InboxKind::Request => "request",
        }
    }
}

/// A kept message, as received (still base64: it is decoded and guarded when taken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    pub kind: InboxKind,
    pub target: String,
    pub message: String,
    pub relay_state: Option<String>,
    /// Where it was posted from (an IPv4 address or IPv6 /64).
    pub client_addr: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

pub trait SamlInboxStore {
    fn put_message(&self, id_hash: &HashedSamlInboxId, message: &InboxMessage) -> StoreResult<()>;
    /// Deletes the message and returns it, if it existed (expired or not): of two concurrent
    /// takes, on any instances, one wins.
    fn take_message(&self, id_hash: &HashedSamlInboxId) -> StoreResult<Option<InboxMessage>>;
    /// Deletes the messages posted from `client_addr` but the newest `keep`; returns how many
    /// went.
    fn trim_messages(&self, client_addr: &str, keep: usize) -> StoreResult<usize>;
    /// Deletes messages expired at `now`; returns how many.
    fn prune_messages(&self, now: UnixTime) -> StoreResult<usize>;
}

/// Keeps a POSTed message; returns the id for the GET's query (`m=`). `client_addr`: the
/// subscriber address it came from ([`crate::netaddr::subscriber`]).
pub fn keep<S: SamlInboxStore>(
    store: &S,
    clock: &dyn Clock,
    kind: InboxKind,
    target: &str,
    message: String,
    relay_state: Option<String>,
    client_addr: Option<String>,
) -> StoreResult<String> {
    // Room is made first, so the new message is never the one evicted (messages of one second
    // have no order among them).
    if let Some(addr) = &client_addr {
        store.trim_messages(addr, KEPT_PER_ADDRESS - 1)?;
    }
    let id = PlainSamlInboxId::new(crypto::random_token());
    let now = clock.now();
    store.put_message(
        &id.hash(),
        &InboxMessage {
            kind,
            target: target.to_owned(),
            message,
            relay_state,
            client_addr,
            created_at: now,
            expires_at: now + INBOX_TTL,
        },
    )?;
    Ok(id.expose().to_owned())
}

/// Takes the message kept under `id` for `kind` and `target`, once; `None` when there is none,
/// it expired, or it was kept for another kind or target (it is gone either way).
pub fn take<S: SamlInboxStore>(
    store: &S,
    clock: &dyn Clock,
    kind: InboxKind,
    target: &str,
    id: &str,
) -> StoreResult<Option<InboxMessage>> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    Ok(store
        .take_message(&PlainSamlInboxId::new(id).hash())?
        .filter(|m| m.kind == kind && m.target == target && clock.now() < m.expires_at))
}

/// Deletes expired messages (the background pruner).
pub fn prune<S: SamlInboxStore>(store: &S, clock: &dyn Clock) -> StoreResult<usize> {
    store.prune_messages(clock.now())
}
