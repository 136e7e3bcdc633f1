//! `MemoryStore` as the store of organisations, users, memberships and the throttle.

use super::*;

impl OrgStore for MemoryStore {
    fn create_org(&self, org: &Organisation, name_key: &str) -> StoreResult<()> {
        let mut t = self.t();
        if t.orgs.values().any(|(_, key)| key == name_key) {
            return Err(StoreError::Conflict(Unique::Organisation));
        }
        t.orgs
            .insert(org.id.clone(), (org.clone(), name_key.to_owned()));
        Ok(())
    }

    fn find_org(&self, name_key: &str) -> StoreResult<Option<Organisation>> {
        Ok(self
            .t()
            .orgs
            .values()
            .find(|(_, key)| key == name_key)
            .map(|(org, _)| org.clone()))
    }

    fn find_org_by_id(&self, id: &OrgId) -> StoreResult<Option<Organisation>> {
        Ok(self.t().orgs.get(id).map(|(org, _)| org.clone()))
    }

    fn list_orgs(&self) -> StoreResult<Vec<Organisation>> {
        let mut orgs: Vec<(Organisation, String)> = self.t().orgs.values().cloned().collect();
        orgs.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(orgs.into_iter().map(|(org, _)| org).collect())
    }

    fn set_org_key_policy(
        &self,
        id: &OrgId,
        max_lifetime: Option<i64>,
        legacy_query: bool,
    ) -> StoreResult<()> {
        if let Some((org, _)) = self.t().orgs.get_mut(id) {
            org.api_key_max_lifetime = max_lifetime;
            org.api_key_legacy_query = legacy_query;
        }
        Ok(())
    }

    fn set_org_require_mfa(&self, id: &OrgId, require: bool) -> StoreResult<()> {
        if let Some((org, _)) = self.t().orgs.get_mut(id) {
            org.require_mfa = require;
        }
        Ok(())
    }

    fn set_org_session_policy(
        &self,
        id: &OrgId,
        idle: Option<i64>,
        absolute: Option<i64>,
    ) -> StoreResult<()> {
        if let Some((org, _)) = self.t().orgs.get_mut(id) {
            org.session_idle_timeout = idle;
            org.session_absolute_timeout = absolute;
        }
        Ok(())
    }
}

impl UserStore for MemoryStore {
    fn create_user(
        &self,
        user: &NewUser,
        org: Option<(&OrgId, Role)>,
        now: UnixTime,
    ) -> StoreResult<User> {
        let membership = user.initial_membership(org)?;
        let mut t = self.t();
        let (username_key, email_key) = (user.username.key(), user.email.key());
        for (u, _) in t
            .users
            .values()
            .filter(|(u, _)| u.home_org.as_ref() == user.home.home_org())
        {
            if u.username.to_lowercase() == username_key {
                return Err(StoreError::Conflict(Unique::Username));
            }
            if u.email.to_lowercase() == email_key {
                return Err(StoreError::Conflict(Unique::Email));
            }
        }
        let created = User {
            id: user.id.clone(),
            username: user.username.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.clone(),
            disabled: false,
            created_at: now,
            updated_at: now,
            home_org: user.home.home_org().cloned(),
            email_verified: user.email_verified,
        };
        t.users.insert(
            created.id.clone(),
            (created.clone(), user.password_hash.clone()),
        );
        if let Some((org_id, role)) = membership {
            t.memberships.push((org_id, created.id.clone(), role));
        }
        Ok(created)
    }

    fn find_user_for_login(&self, login_key: &str) -> StoreResult<Option<(User, Option<String>)>> {
        Ok(self
            .t()
            .users
            .values()
            .find(|(u, _)| {
                u.home_org.is_none()
                    && (u.username.to_lowercase() == login_key
                        || u.email.to_lowercase() == login_key)
            })
            .cloned())
    }

    fn find_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.t().users.get(id).map(|(u, _)| u.clone()))
    }

    fn find_user_by_username(&self, username_key: &str) -> StoreResult<Option<User>> {
        Ok(self
            .t()
            .users
            .values()
            .find(|(u, _)| u.home_org.is_none() && u.username.to_lowercase() == username_key)
            .map(|(u, _)| u.clone()))
    }

    fn find_member_by_email(&self, org_id: &OrgId, email_key: &str) -> StoreResult<Vec<User>> {
        let t = self.t();
        let mut found: Vec<User> = t
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| u.home_org.is_none() || u.home_org.as_ref() == Some(org_id))
            .filter(|u| u.email.to_lowercase() == email_key)
            .filter(|u| {
                t.memberships
                    .iter()
                    .any(|(o, user, _)| o == org_id && *user == u.id)
            })
            .cloned()
            .collect();
        found.sort_by_key(|u| u.home_org.is_some());
        Ok(found)
    }

    fn find_managed_by_username(
        &self,
        org_id: &OrgId,
        username_key: &str,
    ) -> StoreResult<Option<User>> {
        Ok(self
            .t()
            .users
            .values()
            .find(|(u, _)| {
                u.home_org.as_ref() == Some(org_id) && u.username.to_lowercase() == username_key
            })
            .map(|(u, _)| u.clone()))
    }

    fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut users: Vec<User> = self.t().users.values().map(|(u, _)| u.clone()).collect();
        users.sort_by_key(|u| u.username.to_lowercase());
        Ok(users)
    }

    fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>> {
        let t = self.t();
        let mut found: Vec<(String, Membership)> = t
            .memberships
            .iter()
            .filter(|(_, user, _)| user == user_id)
            .filter_map(|(org_id, _, role)| {
                let (org, key) = t.orgs.get(org_id)?;
                Some((
                    key.clone(),
                    Membership {
                        org: org.clone(),
                        role: *role,
                    },
                ))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found.into_iter().map(|(_, m)| m).collect())
    }

    fn membership(&self, user_id: &UserId, org_id: &OrgId) -> StoreResult<Option<Membership>> {
        Ok(self
            .memberships(user_id)?
            .into_iter()
            .find(|m| m.org.id == *org_id))
    }

    fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool> {
        let mut t = self.t();
        Ok(
            match t
                .memberships
                .iter_mut()
                .find(|(o, u, _)| o == org_id && u == user_id)
            {
                Some(m) => {
                    m.2 = role;
                    true
                }
                None => false,
            },
        )
    }

    fn add_membership(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role: Role,
        _now: UnixTime,
    ) -> StoreResult<()> {
        let mut t = self.t();
        match t.users.get(user_id) {
            None => return Err(StoreError::NotFound),
            Some((u, _)) if u.home_org.as_ref().is_some_and(|home| home != org_id) => {
                return Err(StoreError::Conflict(Unique::HomeOrganisation));
            }
            Some(_) => {}
        }
        if t.memberships
            .iter()
            .any(|(o, u, _)| o == org_id && u == user_id)
        {
            return Err(StoreError::Conflict(Unique::Record));
        }
        t.memberships.push((org_id.clone(), user_id.clone(), role));
        Ok(())
    }

    fn delete_user(&self, _user_id: &UserId, _now: UnixTime) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn user_groups(&self, _user_id: &UserId, _org_id: &OrgId) -> StoreResult<Vec<String>> {
        not_in_the_fake()
    }

    fn find_group(&self, _org_id: &OrgId, _name: &str) -> StoreResult<Option<GroupId>> {
        not_in_the_fake()
    }

    fn create_group(&self, _org_id: &OrgId, _name: &str, _now: UnixTime) -> StoreResult<GroupId> {
        not_in_the_fake()
    }

    fn add_group_member(&self, _group_id: &GroupId, _user_id: &UserId) -> StoreResult<()> {
        not_in_the_fake()
    }
}

/// The fakes' stand-ins for the deprovision service, for unit tests of what a disabled user or a
/// lost membership no longer gets.
impl MemoryStore {
    /// Only the flag (the real store ends sessions and grants with it: `crate::deprovision`).
    pub fn set_user_disabled(&self, id: &UserId, disabled: bool, now: UnixTime) -> StoreResult<()> {
        if let Some((u, _)) = self.t().users.get_mut(id) {
            u.disabled = disabled;
            u.updated_at = now;
        }
        Ok(())
    }

    /// The membership and the user's keys there.
    pub fn remove_membership(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut t = self.t();
        t.revoke_user_keys(user_id, Some(org_id), now);
        let before = t.memberships.len();
        t.memberships
            .retain(|(o, u, _)| !(o == org_id && u == user_id));
        Ok(t.memberships.len() < before)
    }
}

impl ThrottleStore for MemoryStore {
    fn reserve_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
        max: i32,
    ) -> StoreResult<Reservation> {
        let mut t = self.t();
        let Some(c) = t.throttle.get_mut(key) else {
            t.throttle.insert(
                key.to_owned(),
                Counter {
                    failures: 1,
                    last_failure_at: now,
                    locked_until: 0,
                },
            );
            return Ok(Reservation::Reserved(1));
        };
        // A streak that ended before the window is forgotten, unless it holds a lock.
        if c.last_failure_at < window_start && c.locked_until <= now {
            c.failures = 0;
        }
        // Not locked, and below the maximum or the first attempt since a lock ran out.
        if c.locked_until <= now && (c.failures < max || c.last_failure_at < c.locked_until) {
            c.failures += 1;
            c.last_failure_at = now;
            Ok(Reservation::Reserved(c.failures))
        } else {
            Ok(Reservation::Refused {
                locked_until: c.locked_until,
            })
        }
    }

    fn release_attempt(&self, key: &str) -> StoreResult<()> {
        if let Some(c) = self.t().throttle.get_mut(key)
            && c.failures > 0
        {
            c.failures -= 1;
        }
        Ok(())
    }

    fn lock_until(&self, key: &str, until: UnixTime) -> StoreResult<()> {
        if let Some(c) = self.t().throttle.get_mut(key) {
            c.locked_until = until;
        }
        Ok(())
    }

    fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        if let Some(c) = self.t().throttle.get_mut(key) {
            c.failures = 0;
            c.locked_until = 0;
        }
        Ok(())
    }

    fn prune_throttle(&self, now: UnixTime, window_start: UnixTime) -> StoreResult<usize> {
        let mut t = self.t();
        let before = t.throttle.len();
        t.throttle
            .retain(|_, c| !(c.last_failure_at < window_start && c.locked_until <= now));
        Ok(before - t.throttle.len())
    }
}
