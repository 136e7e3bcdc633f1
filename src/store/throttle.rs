use diesel::prelude::*;

use super::schema::login_throttle as t;
use super::{Store, StoreError, StoreResult};
use crate::accounts::store::{Reservation, ThrottleStore};
use crate::clock::UnixTime;

impl ThrottleStore for Store {
    fn reserve_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
        max: i32,
    ) -> StoreResult<Reservation> {
        let mut conn = self.conn()?;
        // Forget a streak that ended before the window (unless it holds a lock).
        diesel::update(
            t::table
                .find(key)
                .filter(t::last_failure_at.lt(window_start))
                .filter(t::locked_until.le(now)),
        )
        .set(t::failures.eq(0))
        .execute(&mut *conn)?;
        for _ in 0..5 {
            // One statement decides, so concurrent attempts on any instance cannot all pass:
            // not locked, and either below the maximum or the first attempt since a lock ran
            // out (a reservation sets last_failure_at to now, which is past that lock).
            let n = diesel::update(
                t::table.find(key).filter(t::locked_until.le(now)).filter(
                    t::failures
                        .lt(max)
                        .or(t::last_failure_at.lt(t::locked_until)),
                ),
            )
            .set((t::failures.eq(t::failures + 1), t::last_failure_at.eq(now)))
            .execute(&mut *conn)?;
            if n == 1 {
                let failures = t::table
                    .find(key)
                    .select(t::failures)
                    .get_result(&mut *conn)?;
                return Ok(Reservation::Reserved(failures));
            }
            let row: Option<(i32, UnixTime, UnixTime)> = t::table
                .find(key)
                .select((t::failures, t::last_failure_at, t::locked_until))
                .get_result(&mut *conn)
                .optional()?;
            match row {
                // Refused for a reason that still holds: locked, or at the maximum with no
                // lock run out since.
                Some((failures, last, locked_until))
                    if locked_until > now || (failures >= max && last >= locked_until) =>
                {
                    return Ok(Reservation::Refused { locked_until });
                }
                // Inserted or reset by another attempt between the two statements: again.
                Some(_) => continue,
                None => {}
            }
            let inserted = diesel::insert_into(t::table)
                .values((
                    t::key.eq(key),
                    t::failures.eq(1),
                    t::last_failure_at.eq(now),
                    t::locked_until.eq(0),
                ))
                .execute(&mut *conn);
            match inserted {
                Ok(_) => return Ok(Reservation::Reserved(1)),
                // Another instance inserted it first: go through the conditional update.
                Err(e) => match StoreError::from(e) {
                    StoreError::Conflict(_) => continue,
                    other => return Err(other),
                },
            }
        }
        // The counter kept changing under this attempt (many racing on one key): refuse it,
        // the safe side for a throttle, and let the client retry in a second.
        Ok(Reservation::Refused { locked_until: now })
    }

    fn release_attempt(&self, key: &str) -> StoreResult<()> {
        diesel::update(t::table.find(key).filter(t::failures.gt(0)))
            .set(t::failures.eq(t::failures - 1))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn lock_until(&self, key: &str, until: UnixTime) -> StoreResult<()> {
        diesel::update(t::table.find(key))
            .set(t::locked_until.eq(until))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        // Reset, not deleted: concurrent attempts of the same account keep finding the row
        // (a delete would send them all to insert it again at once); pruning removes it later.
        diesel::update(t::table.find(key))
            .set((t::failures.eq(0), t::locked_until.eq(0)))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn prune_throttle(&self, now: UnixTime, window_start: UnixTime) -> StoreResult<usize> {
        Ok(diesel::delete(
            t::table
                .filter(t::last_failure_at.lt(window_start))
                .filter(t::locked_until.le(now)),
        )
        .execute(&mut *self.conn()?)?)
    }
}
