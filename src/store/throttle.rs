use diesel::prelude::*;

use super::schema::login_throttle as t;
use super::{Reservation, Store, StoreError, StoreResult, ThrottleStore};
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
        for _ in 0..3 {
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
            let row: Option<(i32, UnixTime)> = t::table
                .find(key)
                .select((t::failures, t::locked_until))
                .get_result(&mut *conn)
                .optional()?;
            match (n, row) {
                (1, Some((failures, _))) => return Ok(Reservation::Reserved(failures)),
                (_, Some((_, locked_until))) => return Ok(Reservation::Refused { locked_until }),
                (_, None) => {}
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
        Err(StoreError::Backend(
            "login throttle row kept changing".into(),
        ))
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
        diesel::delete(t::table.find(key)).execute(&mut *self.conn()?)?;
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
