use diesel::prelude::*;

use super::rows::{SessionRow, UserRow};
use super::schema::{sessions, users};
use super::{SessionStore, Store, StoreResult};
use crate::clock::UnixTime;
use crate::sessions::types::{CurrentSession, SessionRecord};

impl SessionStore for Store {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from(session))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_session(&self, id_hash: &str) -> StoreResult<Option<CurrentSession>> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::id_hash.eq(id_hash))
            .select((SessionRow::as_select(), UserRow::as_select()))
            .get_result::<(SessionRow, UserRow)>(&mut *self.conn()?)
            .optional()?
            .map(|(s, u)| CurrentSession {
                session: s.into(),
                user: u.into(),
            }))
    }

    fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        diesel::update(sessions::table.find(id_hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<SessionRecord>> {
        let mut conn = self.conn()?;
        let found = sessions::table
            .find(id_hash)
            .select(SessionRow::as_select())
            .get_result(&mut *conn)
            .optional()?;
        diesel::delete(sessions::table.find(id_hash)).execute(&mut *conn)?;
        if let Some(s) = &found {
            // Families without offline_access end with the session (OIDC Core §11).
            let grants = super::oauth::grants_of_session(&mut conn, &s.sid)?;
            super::oauth::revoke_grants(&mut conn, &grants, now)?;
        }
        Ok(found.map(Into::into))
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<usize> {
        Ok(
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
                .execute(&mut *self.conn()?)?,
        )
    }

    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize> {
        Ok(diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .le(now)
                    .or(sessions::last_seen_at.lt(idle_cutoff)),
            ),
        )
        .execute(&mut *self.conn()?)?)
    }
}
