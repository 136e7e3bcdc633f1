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
mod deprovision;
mod device;
mod error;
mod federation;
mod flows;
mod groups;
mod health;
mod members;
mod meta;
mod mfa;
mod oauth;
mod owners;
mod passkeys;
mod rows;
mod saml;
mod saml_apps;
mod schema;
mod scim;
mod selfservice;
mod sessions;
mod sso;
mod throttle;
mod totp;
mod writer;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::accounts::types::{NewUser, Organisation, Role, User};
use crate::audit::AuditEvent;
use crate::clock::UnixTime;
use crate::ids::{ClientId, OrgId};
use crate::oauth::types::Client;
use crate::signing::StoredKey;

pub use db::{Backend, DbConn};
pub use error::{StoreError, StoreResult, Unique};

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

    /// Migrates, then runs `setup` on the same connection under the set-up lock; `setup`
    /// fails with its own error type (a refused key, say), which the store's errors convert to.
    pub fn migrate_then<T, E: From<StoreError>>(
        &self,
        setup: impl FnOnce(&mut SetupTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
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
        org: Option<(&OrgId, Role)>,
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

    pub fn find_client(&mut self, id: &ClientId) -> StoreResult<Option<Client>> {
        oauth::find_client(self.conn, id)
    }
}

pub trait MetaStore {
    fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
}
