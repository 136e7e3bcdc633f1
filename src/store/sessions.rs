use diesel::prelude::*;

use super::rows::{SessionRow, UserRow};
use super::schema::{memberships, organisations, sessions, users};
use super::{Store, StoreResult};
use crate::accounts::types::{Membership, Organisation, Role};
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::{OrgId, Sid, UserId};
use crate::sessions::store::SessionStore;
use crate::sessions::types::{CurrentSession, SessionRecord};

/// A session, its user, and its active organisation with the user's role there: joined on the
/// membership, so an organisation the user has left comes back as none.
type FoundSession = (SessionRow, UserRow, Option<String>, OrgColumns);

/// The active organisation's columns, each NULL without one (a nullable struct does not
/// select through the multi-backend connection).
type OrgColumns = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<i64>,
    Option<i64>,
);

/// The session query of `find_session` and `find_session_by_sid`, filtered by `$filter`.
macro_rules! with_active_org {
    ($filter:expr) => {
        sessions::table
            .inner_join(users::table)
            .left_join(
                memberships::table.on(memberships::org_id
                    .nullable()
                    .eq(sessions::org_id)
                    .and(memberships::user_id.eq(sessions::user_id))),
            )
            .left_join(organisations::table.on(organisations::id.nullable().eq(sessions::org_id)))
            .filter($filter)
            .select((
                SessionRow::as_select(),
                UserRow::as_select(),
                memberships::role.nullable(),
                (
                    organisations::name.nullable(),
                    organisations::created_at.nullable(),
                    organisations::api_key_max_lifetime.nullable(),
                    organisations::api_key_legacy_query.nullable(),
                    organisations::require_mfa.nullable(),
                    organisations::require_sso.nullable(),
                    organisations::session_idle_timeout.nullable(),
                    organisations::session_absolute_timeout.nullable(),
                ),
            ))
    };
}

fn current_session((s, u, role, org): FoundSession) -> CurrentSession {
    let org = match (role.and_then(|r| r.parse::<Role>().ok()), &s.org_id, org) {
        (
            Some(role),
            Some(id),
            (Some(name), Some(created_at), max, Some(legacy), Some(mfa), Some(sso), idle, absolute),
        ) => Some(Membership {
            org: Organisation {
                id: OrgId::new(id.clone()),
                name,
                created_at,
                api_key_max_lifetime: max,
                api_key_legacy_query: legacy,
                require_mfa: mfa,
                require_sso: sso,
                session_idle_timeout: idle,
                session_absolute_timeout: absolute,
            },
            role,
        }),
        _ => None,
    };
    let session: SessionRecord = s.into();
    // A session acts only where its sign-in is admitted (`Membership::admits`), else as one
    // that never chose.
    let org = org.filter(|m| m.admits(&session.amr, session.org_id.as_ref()));
    CurrentSession {
        session,
        user: u.into(),
        org,
    }
}

impl SessionStore for Store {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from(session))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_session(&self, id_hash: &HashedSessionId) -> StoreResult<Option<CurrentSession>> {
        Ok(with_active_org!(sessions::id_hash.eq(id_hash.as_str()))
            .get_result::<FoundSession>(&mut *self.conn()?)
            .optional()?
            .map(current_session))
    }

    // Written out like `find_session`, not through a boxed query: diesel caches only statically
    // typed statements, and `find_session` runs on every signed-in request.
    fn find_session_by_sid(&self, sid: &Sid) -> StoreResult<Option<CurrentSession>> {
        Ok(with_active_org!(sessions::sid.eq(sid.as_str()))
            .get_result::<FoundSession>(&mut *self.conn()?)
            .optional()?
            .map(current_session))
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

    fn set_session_org(&self, id_hash: &HashedSessionId, org: Option<&OrgId>) -> StoreResult<bool> {
        Ok(diesel::update(sessions::table.find(id_hash.as_str()))
            .set(sessions::org_id.eq(org.map(OrgId::as_str)))
            .execute(&mut *self.conn()?)?
            > 0)
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
