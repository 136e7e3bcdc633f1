//! External identities and IdP-managed groups (`crate::federation::store`).

use diesel::prelude::*;

use super::schema::{external_identities, group_members, groups};
use super::{Store, StoreResult};
use crate::clock::UnixTime;
use crate::federation::store::{ExternalIdentityStore, ManagedGroupStore};
use crate::federation::types::ExternalIdentity;
use crate::ids::{ConnectionId, GroupId, OrgId, UserId};

impl ExternalIdentityStore for Store {
    fn find_external(
        &self,
        connection: &ConnectionId,
        subject: &str,
        now: UnixTime,
    ) -> StoreResult<Option<UserId>> {
        let mut conn = self.conn()?;
        let user: Option<String> = external_identities::table
            .find((connection.as_str(), subject))
            .select(external_identities::user_id)
            .get_result(&mut *conn)
            .optional()?;
        if user.is_some() {
            diesel::update(external_identities::table.find((connection.as_str(), subject)))
                .set(external_identities::last_used_at.eq(now))
                .execute(&mut *conn)?;
        }
        Ok(user.map(UserId::new))
    }

    fn link_external(&self, identity: &ExternalIdentity, now: UnixTime) -> StoreResult<()> {
        diesel::insert_into(external_identities::table)
            .values((
                external_identities::connection_id.eq(identity.connection_id.as_str()),
                external_identities::subject.eq(&identity.subject),
                external_identities::user_id.eq(identity.user_id.as_str()),
                external_identities::created_at.eq(now),
                external_identities::last_used_at.eq(now),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }
}

impl ManagedGroupStore for Store {
    fn sync_managed_groups(
        &self,
        org: &OrgId,
        connection: &ConnectionId,
        user: &UserId,
        names: &[String],
        now: UnixTime,
    ) -> StoreResult<Vec<String>> {
        // Reads then writes: one job of the SQLite writer (a deferred transaction on a pooled
        // connection would fail at once, "database is locked", when another write commits
        // between its read and its write: concurrent sign-ins of one user).
        let (org, connection, user, names) = (
            org.clone(),
            connection.clone(),
            user.clone(),
            names.to_vec(),
        );
        self.write(move |conn| {
            conn.transaction(|conn| {
                let mut wanted: Vec<String> = Vec::new();
                for name in &names {
                    let key = name.to_lowercase();
                    let found: Option<(String, Option<String>)> = groups::table
                        .filter(groups::org_id.eq(org.as_str()))
                        .filter(groups::name_key.eq(&key))
                        .select((groups::id, groups::managed_by))
                        .get_result(conn)
                        .optional()?;
                    match found {
                        Some((id, Some(by))) if by == connection.as_str() => wanted.push(id),
                        Some(_) => {}
                        None => {
                            let id = GroupId::generate();
                            diesel::insert_into(groups::table)
                                .values((
                                    groups::id.eq(id.as_str()),
                                    groups::org_id.eq(org.as_str()),
                                    groups::name.eq(name),
                                    groups::name_key.eq(&key),
                                    groups::created_at.eq(now),
                                    groups::managed_by.eq(connection.as_str()),
                                ))
                                .execute(conn)?;
                            wanted.push(id.as_str().to_owned());
                        }
                    }
                }
                let managed = groups::table
                    .filter(groups::org_id.eq(org.as_str()))
                    .filter(groups::managed_by.eq(connection.as_str()))
                    .select(groups::id);
                diesel::delete(
                    group_members::table
                        .filter(group_members::user_id.eq(user.as_str()))
                        .filter(group_members::group_id.eq_any(managed))
                        .filter(group_members::group_id.ne_all(&wanted)),
                )
                .execute(conn)?;
                let have: Vec<String> = group_members::table
                    .filter(group_members::user_id.eq(user.as_str()))
                    .filter(group_members::group_id.eq_any(&wanted))
                    .select(group_members::group_id)
                    .load(conn)?;
                for id in wanted.iter().filter(|id| !have.contains(id)) {
                    diesel::insert_into(group_members::table)
                        .values((
                            group_members::group_id.eq(id),
                            group_members::user_id.eq(user.as_str()),
                        ))
                        .execute(conn)?;
                }
                let mut names: Vec<String> = groups::table
                    .filter(groups::id.eq_any(&wanted))
                    .select(groups::name)
                    .load(conn)?;
                names.sort();
                Ok(names)
            })
        })
    }
}
