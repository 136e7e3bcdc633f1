//! Connections, the pool and migrations. One `MultiConnection` serves SQLite and PostgreSQL so
//! every query is written once; the backend is chosen by the URL.

use std::time::Duration;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::health;
use super::{StoreError, StoreResult};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any number; the one advisory lock key under which instances migrate and run first-run set-up.
const SETUP_LOCK_KEY: i64 = 0x6d69_6e74_6761_7465; // "mintgate"

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Opens connections of the right variant and prepares SQLite ones (WAL, busy timeout, FKs).
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl Manager {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            backend: Backend::of_url(url),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn establish(&self) -> Result<DbConn, diesel::ConnectionError> {
        self.open(false)
    }

    /// A connection that refuses writes (`PRAGMA query_only` on SQLite): the per-thread reader
    /// that [`super::Store::inline_reads`] uses, so a write sneaking onto it fails loudly
    /// instead of waiting for the write lock on an event-loop thread.
    pub fn establish_reader(&self) -> Result<DbConn, diesel::ConnectionError> {
        self.open(true)
    }

    fn open(&self, read_only: bool) -> Result<DbConn, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConn::Pg),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                if let Some(dir) = std::path::Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        diesel::ConnectionError::BadConnection(format!(
                            "cannot create {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                let mut conn = SqliteConnection::establish(path)?;
                // synchronous=NORMAL in WAL mode: a crash of the machine (not of the process) can
                // lose the last transactions, never corrupt the file. The README states this.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                if read_only {
                    // A WAL reader rarely meets a lock (WAL recovery), but when it does it must
                    // not hold an event-loop thread for long: fail after 100 ms instead.
                    conn.batch_execute("PRAGMA query_only = ON; PRAGMA busy_timeout = 100;")
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.establish()
    }

    /// Checked out connections are pinged only after a lost connection was seen lately (see
    /// [`health::note_connection_lost`]): a ping on every checkout is a whole extra round trip per query
    /// on PostgreSQL, and a SQLite file does not go away. The price: after a PostgreSQL restart
    /// each dead pooled connection fails one request (503) before the pings shed the rest.
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        if self.backend == Backend::Sqlite || !health::connection_lost_lately() {
            return Ok(());
        }
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.is_broken()
    }
}

pub type Pool = diesel::r2d2::Pool<Manager>;
pub type PooledConn = diesel::r2d2::PooledConnection<Manager>;

/// `min_idle` 0 for short-lived commands: no background thread is then opening a connection
/// while the process exits (libpq and OpenSSL do not survive that).
pub fn pool(url: &str, size: u32, min_idle: u32) -> StoreResult<Pool> {
    let manager = Manager::new(url);
    // SQLite serialises writers anyway; a few connections serve concurrent readers.
    diesel::r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(min_idle))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Runs pending migrations and then `setup` while holding the set-up lock, so several instances
/// starting together on one empty database neither race the migrations nor the first-run
/// set-up: `pg_advisory_lock` on PostgreSQL, `BEGIN IMMEDIATE` (the write lock) on SQLite.
pub fn migrate_then<T, E: From<StoreError>>(
    conn: &mut DbConn,
    setup: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    match conn {
        DbConn::Pg(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({SETUP_LOCK_KEY})"))
                .execute(pg)
                .map_err(StoreError::from)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| StoreError::Backend(format!("migration failed: {e}")).into())
                .and_then(|()| setup(conn));
            if let DbConn::Pg(pg) = conn {
                diesel::sql_query(format!("SELECT pg_advisory_unlock({SETUP_LOCK_KEY})"))
                    .execute(pg)
                    .map_err(StoreError::from)?;
            }
            result
        }
        DbConn::Sqlite(sqlite) => {
            // Diesel's transaction manager lives in the inner connection, so statements run
            // through `conn` below nest inside this transaction as savepoints.
            diesel::connection::AnsiTransactionManager::begin_transaction_sql(
                sqlite,
                "BEGIN IMMEDIATE",
            )
            .map_err(StoreError::from)?;
            let result = sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| StoreError::Backend(format!("migration failed: {e}")).into())
                .and_then(|()| setup(conn));
            let DbConn::Sqlite(sqlite) = conn else {
                unreachable!("the variant does not change")
            };
            match result {
                Ok(value) => {
                    diesel::connection::AnsiTransactionManager::commit_transaction(sqlite)
                        .map_err(StoreError::from)?;
                    Ok(value)
                }
                Err(e) => {
                    let _ =
                        diesel::connection::AnsiTransactionManager::rollback_transaction(sqlite);
                    Err(e)
                }
            }
        }
    }
}
