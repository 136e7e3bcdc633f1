//! SQLite's one writer as a thread, with group commit. SQLite admits one writer at a time;
//! writers on several threads queue on its file lock, and its busy handler makes them sleep
//! (milliseconds each), which is what long tail latencies under write load come from. Here
//! write jobs queue on a channel instead, and the thread runs whatever has queued up in one
//! transaction: one commit for the batch. Each job runs in its own savepoint, so a failing job
//! rolls back alone; every caller gets its own result once the batch has committed (or the
//! commit's error).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::db::{DbConn, Manager};
use super::{StoreError, StoreResult};

/// Jobs run in one transaction at most; a bound keeps one commit from holding everyone.
const MAX_BATCH: usize = 256;

/// Runs a job on the writer's connection and returns what to tell its caller after the commit.
type Job = Box<dyn FnOnce(&mut DbConn) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), &str>) + Send>;

#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens the writer's connection and starts its thread; the thread ends when the last
    /// `Writer` clone is dropped.
    pub(super) fn start(manager: &Manager) -> StoreResult<Self> {
        let conn = manager
            .establish()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let manager = manager.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, &manager, &queue))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the writer and waits for its batch to commit. Blocking: call it where a
    /// store call may block (the blocking pool), never on an event-loop thread.
    pub(super) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tell, answer) = mpsc::sync_channel::<StoreResult<T>>(1);
        let job: Job = Box::new(move |conn| {
            let result = conn.transaction(f);
            Box::new(move |commit: Result<(), &str>| {
                let _ = tell.send(match commit {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                });
            })
        });
        let stopped = || StoreError::Unavailable("the database writer stopped".into());
        self.jobs.send(job).map_err(|_| stopped())?;
        // A job dropped unanswered (its batch could not start, or panicked) reads as stopped.
        answer.recv().map_err(|_| stopped())?
    }
}

fn serve(mut conn: DbConn, manager: &Manager, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let healthy = catch_unwind(AssertUnwindSafe(|| run_batch(&mut conn, batch)))
            .unwrap_or_else(|_| {
                tracing::error!("a database write panicked; its batch was rolled back");
                false
            });
        if !healthy {
            // The connection may be left inside a transaction or with diesel's transaction
            // state broken: start afresh (closing it rolls back whatever was left). If that
            // fails too, the next batch tries again with the old one.
            match manager.establish() {
                Ok(fresh) => conn = fresh,
                Err(e) => tracing::error!(error = %e, "the database writer cannot reconnect"),
            }
        }
    }
}

/// Whether the batch's transaction is still open. (Diesel calls a connection with an open
/// transaction, or with its transaction state in error, "broken"; a transaction that SQLite
/// rolled back by itself leaves diesel's state reset to "no transaction".)
fn still_in_transaction(conn: &mut DbConn) -> bool {
    let DbConn::Sqlite(sqlite) = conn else {
        unreachable!("the writer serves SQLite only")
    };
    AnsiTransactionManager::is_broken_transaction_manager(sqlite)
}

/// Runs the batch in one transaction; `false` if the connection should be replaced.
fn run_batch(conn: &mut DbConn, batch: Vec<Job>) -> bool {
    let DbConn::Sqlite(sqlite) = conn else {
        unreachable!("the writer serves SQLite only")
    };
    // IMMEDIATE takes the write lock now, so no statement of the batch meets SQLITE_BUSY.
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "the database writer cannot begin a transaction");
        return false; // dropping the jobs answers their callers with "unavailable"
    }
    // Each job's statements run through diesel's transaction manager, which sees the open
    // transaction and gives the job a savepoint.
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    for job in batch {
        replies.push(job(conn));
        if !still_in_transaction(conn) {
            // SQLite rolled the whole transaction back (disk full, I/O error): the jobs run so
            // far are undone whatever they answered, and the rest must not run outside it.
            tracing::error!("the database rolled back a batch of writes");
            let DbConn::Sqlite(sqlite) = conn else {
                unreachable!("the variant does not change")
            };
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            replies
                .into_iter()
                .for_each(|reply| reply(Err("the transaction was rolled back")));
            return false;
        }
    }
    let DbConn::Sqlite(sqlite) = conn else {
        unreachable!("the variant does not change")
    };
    match AnsiTransactionManager::commit_transaction(sqlite) {
        Ok(()) => {
            replies.into_iter().for_each(|reply| reply(Ok(())));
            true
        }
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            let message = e.to_string();
            replies
                .into_iter()
                .for_each(|reply| reply(Err(message.as_str())));
            false
        }
    }
}
