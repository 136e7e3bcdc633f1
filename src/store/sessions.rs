use diesel::prelude::*;

use super::rows::{SessionRow, UserRow};
use super::schema::{sessions, users};
use super::{Store, StoreResult};
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::{Sid, UserId};
use crate::sessions::store::SessionStore;
use crate::sessions::types::{CurrentSession, SessionRecord};

impl SessionStore for Store {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from(session))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_session(&self, id_hash: &HashedSessionId) -> StoreResult<Option<CurrentSession>> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::id_hash.eq(id_hash.as_str()))
            .select((SessionRow::as_select(), UserRow::as_select()))
            .get_result::<(SessionRow, UserRow)>(&mut *self.conn()?)
            .optional()?
            .map(|(s, u)| CurrentSession {
                session: s.into(),
                user: u.into(),
            }))
    }

    // Written out like `find_session`, not through a boxed query: diesel caches only statically
    // typed statements, and `find_session` runs on every signed-in request.
    fn find_session_by_sid(&self, sid: &Sid) -> StoreResult<Option<CurrentSession>> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::sid.eq(sid.as_str()))
            .select((SessionRow::as_select(), UserRow::as_select()))
            .get_result::<(SessionRow, UserRow)>(&mut *self.conn()?)
            .optional()?
            .map(|(s, u)| CurrentSession {
                session: s.into(),
                user: u.into(),
            }))
    }

    fn touch_session(&self, id_hash: &HashedSessionId, now: UnixTime) -> StoreResult<()> {
        diesel::update(sessions::table.find(id_hash.as_str()))
            .set(sessions::last_seen_at.eq(now))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn delete_session(
        &self,
        id_hash: &HashedSessionId,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let id_hash = id_hash.as_str();
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

    fn step_up_session(
        &self,
        id_hash: &HashedSessionId,
        new_hash: &HashedSessionId,
        amr: &[String],
        auth_time: UnixTime,
        now: UnixTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let mut conn = self.conn()?;
        let updated = diesel::update(sessions::table.find(id_hash.as_str()))
            .set((
                sessions::id_hash.eq(new_hash.as_str()),
                sessions::amr.eq(amr.join(" ")),
                sessions::auth_time.eq(auth_time),
                sessions::last_seen_at.eq(now),
            ))
            .execute(&mut *conn)?;
        if updated == 0 {
            return Ok(None);
        }
        Ok(sessions::table
            .find(new_hash.as_str())
            .select(SessionRow::as_select())
            .get_result(&mut *conn)
            .optional()?
            .map(Into::into))
    }

    fn delete_user_sessions(&self, user_id: &UserId) -> StoreResult<usize> {
        Ok(
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id.as_str())))
                .execute(&mut *self.conn()?)?,
        )
    }

    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| -> StoreResult<usize> {
            // A bounded batch per run; the rest goes on the next run (and a refresh checks its
            // session's liveness itself meanwhile).
            let ended: Vec<String> = sessions::table
                .filter(
                    sessions::expires_at
                        .le(now)
                        .or(sessions::last_seen_at.le(idle_cutoff)),
                )
                .select(sessions::sid)
                .limit(1000)
                .load(conn)?;
            if ended.is_empty() {
                return Ok(0);
            }
            // Expiry ends session-bound families exactly as sign-out does (OIDC Core §11).
            let grants = super::oauth::grants_of_sessions(conn, &ended)?;
            super::oauth::revoke_grants(conn, &grants, now)?;
            Ok(
                diesel::delete(sessions::table.filter(sessions::sid.eq_any(&ended)))
                    .execute(conn)?,
            )
        })
    }
}
