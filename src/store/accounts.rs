use diesel::prelude::*;

use super::rows::{MembershipRow, OrgRow, UserRow};
use super::schema::{
    external_identities, group_members, groups, memberships, organisations, sso_connections, users,
};
use super::{DbConn, Store, StoreError, StoreResult, Unique};
use crate::accounts::store::{OrgStore, UserStore};
use crate::accounts::types::{Membership, Namespace, NewUser, Organisation, Role, User};
use crate::clock::UnixTime;
use crate::ids::{GroupId, OrgId, UserId};

pub(super) fn count_users(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub(super) fn find_org(conn: &mut DbConn, name_key: &str) -> StoreResult<Option<Organisation>> {
    Ok(organisations::table
        .filter(organisations::name_key.eq(name_key))
        .select(OrgRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Into::into))
}

pub(super) fn create_org(conn: &mut DbConn, org: &Organisation, name_key: &str) -> StoreResult<()> {
    let row = OrgRow {
        id: org.id.as_str().to_owned(),
        name: org.name.clone(),
        name_key: name_key.to_owned(),
        created_at: org.created_at,
        api_key_max_lifetime: org.api_key_max_lifetime,
        api_key_legacy_query: org.api_key_legacy_query,
        require_mfa: org.require_mfa,
        require_sso: org.require_sso,
        session_idle_timeout: org.session_idle_timeout,
        session_absolute_timeout: org.session_absolute_timeout,
    };
    diesel::insert_into(organisations::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

pub(super) fn create_user(
    conn: &mut DbConn,
    user: &NewUser,
    org: Option<(&OrgId, Role)>,
    now: UnixTime,
) -> StoreResult<User> {
    let membership = user.initial_membership(org)?;
    let row = UserRow {
        id: user.id.as_str().to_owned(),
        username: user.username.as_str().to_owned(),
        username_key: user.username.key_in(&user.home),
        email: user.email.as_str().to_owned(),
        email_key: user.email.key_in(&user.home),
        display_name: user.display_name.clone(),
        password_hash: user.password_hash.clone(),
        disabled: false,
        created_at: now,
        updated_at: now,
        home_org: user.home.home_org().map(|o| o.as_str().to_owned()),
        email_verified: user.email_verified,
    };
    conn.transaction(|conn| {
        diesel::insert_into(users::table)
            .values(&row)
            .execute(conn)?;
        if let Some((org_id, role)) = &membership {
            insert_membership(conn, org_id, &user.id, *role, now)?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(row.into())
}

fn insert_membership(
    conn: &mut DbConn,
    org_id: &OrgId,
    user_id: &UserId,
    role: Role,
    now: UnixTime,
) -> StoreResult<()> {
    let m = MembershipRow {
        org_id: org_id.as_str().to_owned(),
        user_id: user_id.as_str().to_owned(),
        role: role.as_str().to_owned(),
        created_at: now,
    };
    diesel::insert_into(memberships::table)
        .values(&m)
        .execute(conn)?;
    Ok(())
}

/// Adds the membership, refusing (`Conflict(HomeOrganisation)`) an account managed by, or
/// linked to the SSO of, another organisation; `NotFound` for no such user. Inside the
/// caller's transaction (an invitation's acceptance uses its link in the same one).
pub(super) fn add_membership_in(
    conn: &mut DbConn,
    org_id: &OrgId,
    user_id: &UserId,
    role: Role,
    now: UnixTime,
) -> StoreResult<()> {
    let home: Option<Option<String>> = users::table
        .find(user_id.as_str())
        .select(users::home_org)
        .get_result(conn)
        .optional()?;
    match home {
        None => Err(StoreError::NotFound),
        Some(Some(home)) if home != org_id.as_str() => {
            Err(StoreError::Conflict(Unique::HomeOrganisation))
        }
        Some(_) => {
            // An account linked to another organisation's SSO connection signs in
            // through that organisation's IdP: it stays in that organisation only, as a
            // managed one does, so that IdP never reaches another tenant.
            let linked_elsewhere: i64 = external_identities::table
                .inner_join(sso_connections::table)
                .filter(external_identities::user_id.eq(user_id.as_str()))
                .filter(sso_connections::org_id.ne(org_id.as_str()))
                .count()
                .get_result(conn)?;
            if linked_elsewhere > 0 {
                return Err(StoreError::Conflict(Unique::HomeOrganisation));
            }
            insert_membership(conn, org_id, user_id, role, now)
        }
    }
}

impl OrgStore for Store {
    fn create_org(&self, org: &Organisation, name_key: &str) -> StoreResult<()> {
        create_org(&mut *self.conn()?, org, name_key)
    }

    fn find_org(&self, name_key: &str) -> StoreResult<Option<Organisation>> {
        find_org(&mut *self.conn()?, name_key)
    }

    fn set_org_key_policy(
        &self,
        id: &OrgId,
        max_lifetime: Option<i64>,
        legacy_query: bool,
    ) -> StoreResult<()> {
        diesel::update(organisations::table.find(id.as_str()))
            .set((
                organisations::api_key_max_lifetime.eq(max_lifetime),
                organisations::api_key_legacy_query.eq(legacy_query),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn set_org_session_policy(
        &self,
        id: &OrgId,
        idle: Option<i64>,
        absolute: Option<i64>,
    ) -> StoreResult<()> {
        diesel::update(organisations::table.find(id.as_str()))
            .set((
                organisations::session_idle_timeout.eq(idle),
                organisations::session_absolute_timeout.eq(absolute),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn set_org_require_mfa(&self, id: &OrgId, require: bool) -> StoreResult<()> {
        diesel::update(organisations::table.find(id.as_str()))
            .set(organisations::require_mfa.eq(require))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    fn find_org_by_id(&self, id: &OrgId) -> StoreResult<Option<Organisation>> {
        Ok(organisations::table
            .find(id.as_str())
            .select(OrgRow::as_select())
            .get_result::<OrgRow>(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn list_orgs(&self) -> StoreResult<Vec<Organisation>> {
        Ok(organisations::table
            .order(organisations::name_key)
            .select(OrgRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

impl UserStore for Store {
    fn create_user(
        &self,
        user: &NewUser,
        org: Option<(&OrgId, Role)>,
        now: UnixTime,
    ) -> StoreResult<User> {
        create_user(&mut *self.conn()?, user, org, now)
    }

    fn find_user_for_login(&self, login_key: &str) -> StoreResult<Option<(User, Option<String>)>> {
        Ok(users::table
            .filter(users::home_org.is_null())
            .filter(
                users::username_key
                    .eq(login_key)
                    .or(users::email_key.eq(login_key)),
            )
            .select(UserRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(UserRow::into_user))
    }

    fn find_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        Ok(users::table
            .find(id.as_str())
            .select(UserRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn find_user_by_username(&self, username_key: &str) -> StoreResult<Option<User>> {
        Ok(users::table
            .filter(users::home_org.is_null())
            .filter(users::username_key.eq(username_key))
            .select(UserRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn find_member_by_email(&self, org_id: &OrgId, email_key: &str) -> StoreResult<Vec<User>> {
        let managed = Namespace::Org(org_id.clone()).stored_key(email_key);
        Ok(users::table
            .inner_join(memberships::table)
            .filter(memberships::org_id.eq(org_id.as_str()))
            .filter(
                users::home_org
                    .is_null()
                    .and(users::email_key.eq(email_key))
                    .or(users::home_org
                        .eq(org_id.as_str())
                        .and(users::email_key.eq(&managed))),
            )
            .order(users::home_org.is_not_null())
            .select(UserRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn find_managed_by_username(
        &self,
        org_id: &OrgId,
        username_key: &str,
    ) -> StoreResult<Option<User>> {
        let key = Namespace::Org(org_id.clone()).stored_key(username_key);
        Ok(users::table
            .filter(users::home_org.eq(org_id.as_str()))
            .filter(users::username_key.eq(key))
            .select(UserRow::as_select())
            .get_result(&mut *self.conn()?)
            .optional()?
            .map(Into::into))
    }

    fn list_users(&self) -> StoreResult<Vec<User>> {
        Ok(users::table
            .order(users::username_key)
            .select(UserRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>> {
        let rows: Vec<(OrgRow, String)> = memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user_id.as_str()))
            .order(organisations::name_key)
            .select((OrgRow::as_select(), memberships::role))
            .load(&mut *self.conn()?)?;
        rows.into_iter()
            .map(|(org, role)| {
                let role = role.parse().map_err(|_| {
                    StoreError::Backend(format!("unknown role `{role}` in memberships"))
                })?;
                Ok(Membership {
                    org: org.into(),
                    role,
                })
            })
            .collect()
    }

    fn membership(&self, user_id: &UserId, org_id: &OrgId) -> StoreResult<Option<Membership>> {
        let row: Option<(OrgRow, String)> = memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user_id.as_str()))
            .filter(memberships::org_id.eq(org_id.as_str()))
            .select((OrgRow::as_select(), memberships::role))
            .get_result(&mut *self.conn()?)
            .optional()?;
        row.map(|(org, role)| {
            let role = role.parse().map_err(|_| {
                StoreError::Backend(format!("unknown role `{role}` in memberships"))
            })?;
            Ok(Membership {
                org: org.into(),
                role,
            })
        })
        .transpose()
    }

    fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool> {
        Ok(
            diesel::update(memberships::table.find((org_id.as_str(), user_id.as_str())))
                .set(memberships::role.eq(role.as_str()))
                .execute(&mut *self.conn()?)?
                == 1,
        )
    }

    fn add_membership(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role: Role,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| add_membership_in(conn, org_id, user_id, role, now))
    }
    fn delete_user(&self, user_id: &UserId, now: UnixTime) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            // Everything disabling ends (tokens have no foreign key to the user), then the
            // row: sessions, grants, memberships, flows and device codes go with it (ON DELETE
            // CASCADE).
            super::deprovision::end_access(conn, user_id, None, now)?;
            Ok(diesel::delete(users::table.find(user_id.as_str())).execute(conn)? == 1)
        })
    }

    fn user_groups(&self, user_id: &UserId, org_id: &OrgId) -> StoreResult<Vec<String>> {
        Ok(group_members::table
            .inner_join(groups::table)
            .filter(group_members::user_id.eq(user_id.as_str()))
            .filter(groups::org_id.eq(org_id.as_str()))
            .order(groups::name_key)
            .select(groups::name)
            .load(&mut *self.conn()?)?)
    }

    fn create_group(&self, org_id: &OrgId, name: &str, now: UnixTime) -> StoreResult<GroupId> {
        let id = GroupId::generate();
        diesel::insert_into(groups::table)
            .values((
                groups::id.eq(id.as_str()),
                groups::org_id.eq(org_id.as_str()),
                groups::name.eq(name),
                groups::name_key.eq(name.to_lowercase()),
                groups::created_at.eq(now),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(id)
    }

    fn find_group(&self, org_id: &OrgId, name: &str) -> StoreResult<Option<GroupId>> {
        Ok(groups::table
            .filter(groups::org_id.eq(org_id.as_str()))
            .filter(groups::name_key.eq(name.trim().to_lowercase()))
            .select(groups::id)
            .get_result::<String>(&mut *self.conn()?)
            .optional()?
            .map(GroupId::new))
    }

    fn add_group_member(&self, group_id: &GroupId, user_id: &UserId) -> StoreResult<()> {
        diesel::insert_into(group_members::table)
            .values((
                group_members::group_id.eq(group_id.as_str()),
                group_members::user_id.eq(user_id.as_str()),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }
}
