//! Storage: small traits, one per capability, and one diesel implementation (`Store`) over a
//! `MultiConnection` that serves SQLite and PostgreSQL with the same queries.
//!
//! Diesel is blocking: call these from `web::block` or a blocking task, never on an async worker
//! (except reads on SQLite through [`Store::inline_reads`]).
//!
//! Single-row lookups use `get_result`, never `first`: `first` binds `LIMIT ?`, and SQLite
//! (built with STAT4) marks a statement whose LIMIT is a bound parameter for re-preparation on
//! every rebind, so the cached statement would be parsed again on every call.

mod accounts;
mod apikeys;
mod audit;
pub mod db;
mod device;
mod meta;
mod oauth;
mod rows;
mod schema;
mod sessions;
mod throttle;
mod writer;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::accounts::types::{Membership, NewUser, Organisation, Role, User};
use crate::apikeys::types::{ApiKey, Application};
use crate::audit::AuditEvent;
use crate::clock::UnixTime;
use crate::oauth::device::DeviceCode;
use crate::oauth::types::{
    AccessTokenRecord, AuthCode, Client, ConsentRecord, Grant, RefreshTokenRecord, Scopes,
};
use crate::oidc::keys::{SigningAlg, StoredKey};
use crate::sessions::types::{CurrentSession, SessionRecord};

pub use db::{Backend, DbConn};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Backend(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database cannot hold a value of the request: PostgreSQL refuses a NUL (`0x00`) in
    /// text (SQLSTATE 22021 `character_not_in_repertoire`) and text it cannot translate (22P05).
    /// The input is at fault, not the server: every protocol answers it as a bad request.
    #[error("a value in the request cannot be stored (it contains a character such as NUL)")]
    Unstorable,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                db::note_connection_lost();
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(conflict_subject(
                    info.constraint_name().unwrap_or(info.message()),
                ))
            }
            DieselError::DatabaseError(_, info) if is_unstorable_text(info.message()) => {
                StoreError::Unstorable
            }
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// PostgreSQL's messages for text it cannot hold. Diesel gives these errors no kind of their
/// own (`DatabaseErrorKind::Unknown`) and does not expose the SQLSTATE, so the message is
/// matched: 22021 (`invalid byte sequence for encoding "UTF8": 0x00`, a NUL in any text
/// parameter) and 22P05 (`character with byte sequence ... has no equivalent in encoding`,
/// `unsupported Unicode escape sequence`, `\u0000` in `jsonb`). Messages are English unless
/// the server's `lc_messages` says otherwise; the domain types refuse NUL before it gets here.
fn is_unstorable_text(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding")
        || message.contains("has no equivalent in encoding")
        || message.starts_with("unsupported Unicode escape sequence")
}

/// Names the column a unique violation is about, from the constraint name (PostgreSQL) or the
/// message (SQLite: `UNIQUE constraint failed: users.username_key`).
fn conflict_subject(text: &str) -> &'static str {
    if text.contains("username") {
        "username"
    } else if text.contains("email") {
        "email"
    } else if text.contains("organisations") {
        "organisation"
    } else {
        "record"
    }
}

/// The diesel store: a connection pool (and, on SQLite, per-thread read-only connections for
/// [`Store::inline_reads`]). Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: db::Pool,
    manager: db::Manager,
    backend: Backend,
    /// Tells this store's per-thread readers from another store's (tests run several).
    id: u64,
    /// SQLite servers: the one writer thread that token writes go through (group commit).
    writer: Option<writer::Writer>,
}

thread_local! {
    /// Set while [`Store::inline_reads`] runs on this thread.
    static INLINE_READS: Cell<bool> = const { Cell::new(false) };
    /// This thread's read-only SQLite connection and the id of the store it reads.
    static READER: RefCell<Option<(u64, DbConn)>> = const { RefCell::new(None) };
    /// Whether a [`Conn`] holds this thread's reader right now.
    static READER_OUT: Cell<bool> = const { Cell::new(false) };
}

/// A connection for one store call: from the pool, or this thread's reader.
pub(crate) enum Conn {
    Pooled(db::PooledConn),
    Reader { store: u64, conn: Option<DbConn> },
}

impl std::ops::Deref for Conn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        match self {
            Conn::Pooled(c) => c,
            Conn::Reader { conn, .. } => conn.as_ref().expect("held until drop"),
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConn {
        match self {
            Conn::Pooled(c) => c,
            Conn::Reader { conn, .. } => conn.as_mut().expect("held until drop"),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Conn::Reader { store, conn } = self
            && let Some(conn) = conn.take()
        {
            let _ = READER.try_with(|r| *r.borrow_mut() = Some((*store, conn)));
            let _ = READER_OUT.try_with(|out| out.set(false));
        }
    }
}

impl Store {
    /// For the server: a pool and, on SQLite, the writer thread.
    pub fn connect(url: &str, pool_size: u32) -> StoreResult<Self> {
        let mut store = Self::with_pool(url, db::pool(url, pool_size, 1)?);
        if store.backend == Backend::Sqlite {
            store.writer = Some(writer::Writer::start(&store.manager)?);
        }
        Ok(store)
    }

    /// For one-shot commands (the CLI): connections only on demand.
    pub fn connect_on_demand(url: &str) -> StoreResult<Self> {
        Ok(Self::with_pool(url, db::pool(url, 2, 0)?))
    }

    fn with_pool(url: &str, pool: db::Pool) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            pool,
            manager: db::Manager::new(url),
            backend: Backend::of_url(url),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            writer: None,
        }
    }

    /// Runs the write `f`: through the writer thread on a SQLite server (batched with other
    /// writes into one commit, in its own savepoint), on a pooled connection otherwise. Blocks.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        if INLINE_READS.get() {
            // An event-loop thread must not wait for a commit: a bug, made loud.
            return Err(StoreError::Backend("a write inside inline_reads".into()));
        }
        match &self.writer {
            Some(writer) => writer.run(f),
            None => f(&mut *self.conn()?),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether [`Store::inline_reads`] may run on an event-loop thread: on SQLite an indexed
    /// read takes microseconds and a WAL reader never waits for the writer; a PostgreSQL
    /// round trip belongs on the blocking pool.
    pub fn reads_inline(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Runs `f`, whose store calls only read, with those reads served by this thread's own
    /// read-only SQLite connection (`PRAGMA query_only`: a write fails instead of waiting for
    /// the write lock). Skips the hand-off to the blocking pool and the pool's lock, which
    /// cost more than the lookup itself on the hot paths (token checks, API key checks).
    pub fn inline_reads<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                INLINE_READS.set(self.0);
            }
        }
        let _restore = Restore(INLINE_READS.replace(true));
        f()
    }

    fn conn(&self) -> StoreResult<Conn> {
        if self.backend == Backend::Sqlite && INLINE_READS.get() {
            let held = READER.with_borrow_mut(Option::take);
            let reader = match held {
                Some((store, conn)) if store == self.id => Some(conn),
                // Nested use (the reader is out): the pool serves this one.
                None if READER_OUT.get() => None,
                _ => Some(
                    self.manager
                        .establish_reader()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                ),
            };
            if let Some(conn) = reader {
                READER_OUT.set(true);
                return Ok(Conn::Reader {
                    store: self.id,
                    conn: Some(conn),
                });
            }
        }
        self.pool
            .get()
            .map(Conn::Pooled)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Migrates, then runs `setup` on the same connection under the set-up lock.
    pub fn migrate_then<T>(
        &self,
        setup: impl FnOnce(&mut SetupTx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        db::migrate_then(&mut conn, |conn| setup(&mut SetupTx { conn }))
    }

    /// The database answers a trivial query.
    pub fn ping(&self) -> StoreResult<()> {
        use diesel::connection::SimpleConnection;
        self.conn()?.batch_execute("SELECT 1").map_err(Into::into)
    }
}

/// The first-run set-up, run on the locked connection (see [`db::migrate_then`]).
pub struct SetupTx<'a> {
    conn: &'a mut DbConn,
}

impl SetupTx<'_> {
    pub fn count_users(&mut self) -> StoreResult<i64> {
        accounts::count_users(self.conn)
    }

    pub fn find_org(&mut self, name_key: &str) -> StoreResult<Option<Organisation>> {
        accounts::find_org(self.conn, name_key)
    }

    pub fn create_org(&mut self, org: &Organisation, name_key: &str) -> StoreResult<()> {
        accounts::create_org(self.conn, org, name_key)
    }

    pub fn create_user(
        &mut self,
        user: &NewUser,
        org: Option<(&str, Role)>,
        now: UnixTime,
    ) -> StoreResult<User> {
        accounts::create_user(self.conn, user, org, now)
    }

    pub fn get_meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        meta::get(self.conn, key)
    }

    pub fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        meta::put(self.conn, key, value)
    }

    pub fn record_event(&mut self, event: &AuditEvent) -> StoreResult<()> {
        audit::record(self.conn, event)
    }

    pub fn list_signing_keys(&mut self) -> StoreResult<Vec<StoredKey>> {
        oauth::list_signing_keys(self.conn)
    }

    pub fn insert_signing_key(&mut self, key: &StoredKey) -> StoreResult<()> {
        oauth::insert_signing_key(self.conn, key)
    }

    pub fn create_client(&mut self, client: &Client) -> StoreResult<()> {
        oauth::create_client(self.conn, client)
    }

    pub fn find_client(&mut self, id: &str) -> StoreResult<Option<Client>> {
        oauth::find_client(self.conn, id)
    }
}

pub trait OrgStore {
    /// `Conflict("organisation")` when the name is taken (case-insensitively).
    fn create_org(&self, org: &Organisation, name_key: &str) -> StoreResult<()>;
    fn find_org(&self, name_key: &str) -> StoreResult<Option<Organisation>>;
    fn list_orgs(&self) -> StoreResult<Vec<Organisation>>;
    /// The organisation's API key policy.
    fn set_org_key_policy(
        &self,
        id: &str,
        max_lifetime: Option<i64>,
        legacy_query: bool,
    ) -> StoreResult<()>;
}

pub trait UserStore {
    /// Inserts the user and, with `org`, the membership, in one transaction.
    fn create_user(
        &self,
        user: &NewUser,
        org: Option<(&str, Role)>,
        now: UnixTime,
    ) -> StoreResult<User>;
    /// By username or e-mail key; with the password hash, if any.
    fn find_user_for_login(&self, login_key: &str) -> StoreResult<Option<(User, Option<String>)>>;
    fn find_user(&self, id: &str) -> StoreResult<Option<User>>;
    fn find_user_by_username(&self, username_key: &str) -> StoreResult<Option<User>>;
    fn list_users(&self) -> StoreResult<Vec<User>>;
    fn set_user_disabled(&self, id: &str, disabled: bool, now: UnixTime) -> StoreResult<()>;
    fn memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>>;
    fn add_membership(
        &self,
        org_id: &str,
        user_id: &str,
        role: Role,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Removes the membership and revokes the user's API keys in that organisation, in one
    /// transaction; `false` if there was no such membership.
    fn remove_membership(&self, org_id: &str, user_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Deletes the user (sessions, grants and memberships with it) and revokes every API key
    /// they created, in one transaction; `false` if there was no such user.
    fn delete_user(&self, user_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Names of the groups the user belongs to, sorted.
    fn user_groups(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Creates a group in an organisation (`Conflict` if the name is taken there).
    fn create_group(&self, org_id: &str, name: &str, now: UnixTime) -> StoreResult<String>;
    fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<()>;
}

pub trait SessionStore {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// The session with this hash and its user, if it exists (expiry is the caller's rule).
    fn find_session(&self, id_hash: &str) -> StoreResult<Option<CurrentSession>>;
    /// The session with this public `sid` and its user (for grants bound to a session).
    fn find_session_by_sid(&self, sid: &str) -> StoreResult<Option<CurrentSession>>;
    /// Records activity; a no-op when the session is gone.
    fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()>;
    /// Deletes the session and revokes the OAuth grants bound to it; returns it, if it existed.
    fn delete_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<SessionRecord>>;
    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<usize>;
    /// Deletes sessions past their absolute expiry or idle since before `idle_cutoff`, and
    /// revokes the OAuth grants bound to them, as sign-out does.
    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize>;
}

pub trait AuditStore {
    fn record_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    fn recent_events(&self, limit: i64) -> StoreResult<Vec<AuditEvent>>;
}

/// Failure counters for sign-in throttling, shared by every instance.
/// The outcome of [`ThrottleStore::reserve_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted; the number of attempts in the window, this one included.
    Reserved(i32),
    /// Locked (until then), or the attempts are used up while earlier ones are evaluated.
    Refused { locked_until: UnixTime },
}

pub trait ThrottleStore {
    /// Counts one attempt as a failure before it is evaluated (forgetting failures older than
    /// `window_start`), atomically refusing it when the key is locked, or when `max` attempts
    /// are counted and none is the first since a lock ran out.
    fn reserve_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
        max: i32,
    ) -> StoreResult<Reservation>;
    /// Gives one reserved attempt back (the attempt succeeded).
    fn release_attempt(&self, key: &str) -> StoreResult<()>;
    fn lock_until(&self, key: &str, until: UnixTime) -> StoreResult<()>;
    fn clear_throttle(&self, key: &str) -> StoreResult<()>;
    /// Deletes counters whose last failure is older than `window_start` and hold no lock.
    fn prune_throttle(&self, now: UnixTime, window_start: UnixTime) -> StoreResult<usize>;
}

pub trait MetaStore {
    fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
}

pub trait ClientStore {
    fn create_client(&self, client: &Client) -> StoreResult<()>;
    fn find_client(&self, id: &str) -> StoreResult<Option<Client>>;
    fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// `false` when there was no such client.
    fn delete_client(&self, id: &str) -> StoreResult<bool>;
    fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool>;
}

pub trait ConsentStore {
    fn find_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Scopes>>;
    /// Replaces the remembered scopes for this user and client.
    fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scopes,
        now: UnixTime,
    ) -> StoreResult<()>;
    fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>>;
    /// Forgets the consent and revokes every grant the user gave the client.
    fn revoke_consent(&self, user_id: &str, client_id: &str, now: UnixTime) -> StoreResult<()>;
}

/// Grants (token families), authorization codes, access and refresh tokens.
pub trait GrantStore {
    fn create_grant(&self, grant: &Grant) -> StoreResult<()>;
    fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthCode>>;
    /// Marks the code used; `true` for exactly one caller however many race (single use).
    fn consume_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<bool>;
    fn find_grant(&self, id: &str) -> StoreResult<Option<Grant>>;
    /// Records use of the grant if it is still live (unrevoked, unexpired): a conditional
    /// update, `false` when it was revoked. Run after minting, so a revocation that raced the
    /// minting is either seen here or, coming later, deletes what was minted.
    fn mark_grant_used(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Revokes the family: marks the grant and deletes its access and refresh tokens.
    fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<()>;
    fn insert_access_token(&self, token: &AccessTokenRecord) -> StoreResult<()>;
    fn find_access_token(&self, token_hash: &str) -> StoreResult<Option<AccessTokenRecord>>;
    fn delete_access_token(&self, token_hash: &str) -> StoreResult<()>;
    fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> StoreResult<()>;
    fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Marks the refresh token used; `true` for exactly one caller (rotation).
    fn consume_refresh_token(&self, token_hash: &str, now: UnixTime) -> StoreResult<bool>;
    /// Deletes expired codes, access tokens and grants; returns how many rows went.
    fn prune_grants(&self, now: UnixTime) -> StoreResult<usize>;
}

pub trait SigningKeyStore {
    fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Inserts `key` and retires the other current keys of its algorithm, in one transaction.
    fn rotate_signing_key(&self, key: &StoredKey, published_until: UnixTime) -> StoreResult<()>;
    fn count_signing_keys(&self, alg: SigningAlg) -> StoreResult<i64>;
}

/// What verifying an API key needs to know, read in one statement.
pub struct KeyLookup {
    pub key: ApiKey,
    /// When the presented secret stops working: `None` for the current secret, the end of
    /// the grace period for one superseded by a rotation.
    pub secret_valid_until: Option<UnixTime>,
    pub org: Organisation,
    /// The creator's role in the key's organisation and whether the creator is disabled;
    /// `None` when the key has no creator or the creator has left the organisation.
    pub creator: Option<(Role, bool)>,
}

pub trait ApiKeyStore {
    /// Inserts the key and the hash of its secret.
    fn insert_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()>;
    /// The key whose current (or rotated, still in grace) secret has this hash, with its
    /// organisation and its creator's membership: one indexed lookup.
    fn find_api_key_by_secret(
        &self,
        secret_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<KeyLookup>>;
    fn find_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>>;
    /// Unrevoked keys of an organisation (application keys included), newest first.
    fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>>;
    /// `false` if there was no such unrevoked key.
    fn revoke_api_key(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Adds a new secret (and its hint) to an unrevoked key; current secrets stay valid until
    /// `grace_until`. Concurrent rotations of one key run one after the other, so exactly one
    /// secret is current afterwards. `false` if the key is revoked or unknown.
    fn rotate_api_key_secret(
        &self,
        id: &str,
        secret_hash: &str,
        hint: &str,
        now: UnixTime,
        grace_until: UnixTime,
    ) -> StoreResult<bool>;
    /// Records last use times gathered in memory.
    fn record_api_key_usage(&self, usage: &[(String, UnixTime)]) -> StoreResult<()>;
    /// Creates the application and its key in one transaction; `Conflict` on a taken name.
    fn create_application(
        &self,
        org_id: &str,
        name: &str,
        scope: &str,
        created_by: Option<&str>,
        key: &ApiKey,
        secret_hash: &str,
    ) -> StoreResult<Application>;
    fn find_application(&self, id: i64) -> StoreResult<Option<Application>>;
    fn list_applications(&self, org_id: &str) -> StoreResult<Vec<Application>>;
    /// Deletes the application and revokes its key.
    fn delete_application(&self, id: i64, now: UnixTime) -> StoreResult<bool>;
}

/// RFC 8628 device codes.
pub trait DeviceCodeStore {
    /// `Conflict` if the user code is taken (the caller draws another).
    fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()>;
    fn find_device_code(&self, device_code_hash: &str) -> StoreResult<Option<DeviceCode>>;
    fn find_device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>>;
    /// Records a poll; returns the interval now in force.
    fn record_device_poll(
        &self,
        device_code_hash: &str,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<()>;
    /// Pending → approved/denied, once.
    fn decide_device_code(
        &self,
        user_code: &str,
        approved: bool,
        user_id: &str,
        granted_scope: &Scopes,
        auth_time: UnixTime,
        amr: &[String],
    ) -> StoreResult<bool>;
    /// Approved → consumed; `true` for exactly one caller.
    fn consume_device_code(&self, device_code_hash: &str) -> StoreResult<bool>;
    /// How many live (unexpired) pending codes were requested from `client_addr`, and when the
    /// first of them expires.
    fn pending_device_codes(
        &self,
        client_addr: &str,
        now: UnixTime,
    ) -> StoreResult<(i64, Option<UnixTime>)>;
    /// Deletes codes past their expiry, whatever their status; returns how many went.
    fn prune_device_codes(&self, now: UnixTime) -> StoreResult<usize>;
}

#[cfg(test)]
mod unstorable_tests {
    use super::*;

    #[test]
    fn postgres_text_errors_are_unstorable() {
        for message in [
            r#"invalid byte sequence for encoding "UTF8": 0x00"#,
            r#"character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding "LATIN1""#,
            "unsupported Unicode escape sequence",
        ] {
            assert!(is_unstorable_text(message), "{message}");
        }
        for message in [
            "relation \"users\" does not exist",
            "duplicate key value violates unique constraint",
        ] {
            assert!(!is_unstorable_text(message), "{message}");
        }
    }
}
