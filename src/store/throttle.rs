use diesel::prelude::*;

use super::schema::login_throttle as t;
use super::{Store, StoreError, StoreResult, ThrottleStore};
use crate::clock::UnixTime;

impl ThrottleStore for Store {
    fn throttle_state(&self, key: &str) -> StoreResult<Option<(i32, UnixTime)>> {
        Ok(t::table
            .find(key)
            .select((t::failures, t::locked_until))
            .get_result(&mut *self.conn()?)
            .optional()?)
    }

    fn register_failure(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
    ) -> StoreResult<i32> {
        let mut conn = self.conn()?;
        // Each statement is atomic on its own, so concurrent failures on several instances are
        // all counted: forget an old streak, then increment (or insert the first failure).
        diesel::update(
            t::table
                .find(key)
                .filter(t::last_failure_at.lt(window_start)),
        )
        .set(t::failures.eq(0))
        .execute(&mut *conn)?;
        for _ in 0..3 {
            let n = diesel::update(t::table.find(key))
                .set((t::failures.eq(t::failures + 1), t::last_failure_at.eq(now)))
                .execute(&mut *conn)?;
            if n == 1 {
                return Ok(t::table
                    .find(key)
                    .select(t::failures)
                    .get_result(&mut *conn)?);
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
                Ok(_) => return Ok(1),
                // Another instance inserted it first: increment that row instead.
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
}
