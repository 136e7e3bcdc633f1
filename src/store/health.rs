//! Whether PostgreSQL connections were lost lately: set by the error conversion, read by the
//! pool, which then pings connections before handing them out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a query last failed because its PostgreSQL connection was gone (seconds since the
/// process's first use of the pool clock); 0 for never.
static CONNECTION_LOST_AT: AtomicU64 = AtomicU64::new(0);
/// How long after a lost connection checkouts are pinged, so the pool sheds its dead ones
/// (after a server restart, say) before they fail a request each.
const PING_AFTER_LOSS: Duration = Duration::from_secs(60);

fn pool_clock() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Called on every `ClosedConnection` error.
pub(super) fn note_connection_lost() {
    CONNECTION_LOST_AT.store(pool_clock().as_secs() + 1, Ordering::Relaxed);
}

pub(super) fn connection_lost_lately() -> bool {
    let at = CONNECTION_LOST_AT.load(Ordering::Relaxed);
    at != 0 && pool_clock().as_secs() < at + PING_AFTER_LOSS.as_secs()
}
