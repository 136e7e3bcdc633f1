//! `MemoryStore`: the storage traits over plain maps behind one mutex, for unit tests of the
//! services. Each method does what the diesel store's query does (the same conditions in the
//! same order), one statement's effect at a time; the races the real store settles are the
//! integration tests' business. What no unit test reaches answers `not in the fake`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::accounts::store::{OrgStore, Reservation, ThrottleStore, UserStore};
use crate::accounts::types::{Membership, NewUser, Organisation, Role, User};
use crate::apikeys::store::{ApiKeyStore, KeyLookup};
use crate::apikeys::types::{ApiKey, Application, KeyOwner};
use crate::audit::{AuditEvent, AuditStore};
use crate::clock::UnixTime;
use crate::oauth::store::{ClientStore, ConsentStore, DeviceCodeStore, GrantStore};
use crate::oauth::types::{
    AccessTokenRecord, AuthCode, Client, ConsentRecord, DeviceCode, Grant, RefreshTokenRecord,
};
use crate::scopes::Scopes;
use crate::sessions::store::SessionStore;
use crate::sessions::types::{CurrentSession, SessionRecord};
use crate::store::{StoreError, StoreResult};

/// What a method no unit test reaches answers.
fn not_in_the_fake<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not in the fake".into()))
}

#[derive(Default)]
pub struct MemoryStore(Mutex<Tables>);

#[derive(Default)]
struct Tables {
    /// By id, with the name key.
    orgs: HashMap<String, (Organisation, String)>,
    /// By id, with the password hash.
    users: HashMap<String, (User, Option<String>)>,
    /// `(org_id, user_id, role)`.
    memberships: Vec<(String, String, Role)>,
    /// By `id_hash`.
    sessions: HashMap<String, SessionRecord>,
    events: Vec<AuditEvent>,
    throttle: HashMap<String, Counter>,
    api_keys: HashMap<String, ApiKey>,
    key_secrets: Vec<KeySecret>,
    applications: Vec<Application>,
    clients: HashMap<String, Client>,
    /// By `(user_id, client_id)`.
    consents: HashMap<(String, String), (Scopes, UnixTime)>,
    grants: HashMap<String, Grant>,
    codes: HashMap<String, AuthCode>,
    access_tokens: HashMap<String, AccessTokenRecord>,
    refresh_tokens: HashMap<String, RefreshTokenRecord>,
}

/// A row of `login_throttle`.
#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: i32,
    last_failure_at: UnixTime,
    locked_until: UnixTime,
}

/// A row of `api_key_secrets`.
struct KeySecret {
    hash: String,
    key_id: String,
    valid_until: Option<UnixTime>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn t(&self) -> MutexGuard<'_, Tables> {
        self.0.lock().unwrap()
    }

    /// Seeds an organisation (id `org_<name>`).
    pub fn org(&self, name: &str) -> Organisation {
        let org = Organisation::new(format!("org_{name}"), name.to_owned(), 0);
        self.create_org(&org, &name.to_lowercase()).unwrap();
        org
    }

    /// Seeds a user (id `usr_<username>`), a member of `org` with `role` when given.
    pub fn user(&self, username: &str, org: Option<(&Organisation, Role)>) -> User {
        let new = NewUser {
            id: format!("usr_{username}"),
            username: crate::accounts::types::Username::parse(username).unwrap(),
            email: crate::accounts::types::Email::parse(&format!("{username}@example.com"))
                .unwrap(),
            display_name: username.to_owned(),
            password_hash: None,
        };
        self.create_user(&new, org.map(|(o, role)| (o.id.as_str(), role)), 0)
            .unwrap()
    }

    /// The throttle counter of `key`: `(failures, locked_until)`.
    pub fn throttle_counter(&self, key: &str) -> Option<(i32, UnixTime)> {
        self.t()
            .throttle
            .get(key)
            .map(|c| (c.failures, c.locked_until))
    }
}

impl Tables {
    /// `revoke_grants`: marks the grants revoked and deletes their tokens.
    fn revoke_grants(&mut self, ids: &[String], now: UnixTime) {
        for id in ids {
            if let Some(g) = self.grants.get_mut(id)
                && g.revoked_at.is_none()
            {
                g.revoked_at = Some(now);
            }
            self.access_tokens
                .retain(|_, t| t.grant_id.as_deref() != Some(id));
            self.refresh_tokens.retain(|_, t| &t.grant_id != id);
        }
    }

    /// Unrevoked grants bound to one of these sessions.
    fn grants_of_sessions(&self, sids: &[String]) -> Vec<String> {
        self.grants
            .values()
            .filter(|g| g.revoked_at.is_none() && g.sid.as_ref().is_some_and(|s| sids.contains(s)))
            .map(|g| g.id.clone())
            .collect()
    }

    /// `revoke_user_keys`: revokes the unrevoked keys `user_id` created (in `org_id` only).
    fn revoke_user_keys(&mut self, user_id: &str, org_id: Option<&str>, now: UnixTime) {
        let mut ids = Vec::new();
        for key in self.api_keys.values_mut() {
            if key.owner.user_id() == Some(user_id)
                && key.revoked_at.is_none()
                && org_id.is_none_or(|o| key.org_id == o)
            {
                key.revoked_at = Some(now);
                ids.push(key.id.clone());
            }
        }
        self.key_secrets.retain(|s| !ids.contains(&s.key_id));
    }

    fn current_session(&self, s: &SessionRecord) -> Option<CurrentSession> {
        let (user, _) = self.users.get(&s.user_id)?;
        Some(CurrentSession {
            session: s.clone(),
            user: user.clone(),
        })
    }
}

impl OrgStore for MemoryStore {
    fn create_org(&self, org: &Organisation, name_key: &str) -> StoreResult<()> {
        let mut t = self.t();
        if t.orgs.values().any(|(_, key)| key == name_key) {
            return Err(StoreError::Conflict("organisation"));
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

    fn list_orgs(&self) -> StoreResult<Vec<Organisation>> {
        let mut orgs: Vec<(Organisation, String)> = self.t().orgs.values().cloned().collect();
        orgs.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(orgs.into_iter().map(|(org, _)| org).collect())
    }

    fn set_org_key_policy(
        &self,
        id: &str,
        max_lifetime: Option<i64>,
        legacy_query: bool,
    ) -> StoreResult<()> {
        if let Some((org, _)) = self.t().orgs.get_mut(id) {
            org.api_key_max_lifetime = max_lifetime;
            org.api_key_legacy_query = legacy_query;
        }
        Ok(())
    }
}

impl UserStore for MemoryStore {
    fn create_user(
        &self,
        user: &NewUser,
        org: Option<(&str, Role)>,
        now: UnixTime,
    ) -> StoreResult<User> {
        let mut t = self.t();
        let (username_key, email_key) = (user.username.key(), user.email.key());
        for (u, _) in t.users.values() {
            if u.username.to_lowercase() == username_key {
                return Err(StoreError::Conflict("username"));
            }
            if u.email.to_lowercase() == email_key {
                return Err(StoreError::Conflict("email"));
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
        };
        t.users.insert(
            created.id.clone(),
            (created.clone(), user.password_hash.clone()),
        );
        if let Some((org_id, role)) = org {
            t.memberships
                .push((org_id.to_owned(), created.id.clone(), role));
        }
        Ok(created)
    }

    fn find_user_for_login(&self, login_key: &str) -> StoreResult<Option<(User, Option<String>)>> {
        Ok(self
            .t()
            .users
            .values()
            .find(|(u, _)| {
                u.username.to_lowercase() == login_key || u.email.to_lowercase() == login_key
            })
            .cloned())
    }

    fn find_user(&self, id: &str) -> StoreResult<Option<User>> {
        Ok(self.t().users.get(id).map(|(u, _)| u.clone()))
    }

    fn find_user_by_username(&self, username_key: &str) -> StoreResult<Option<User>> {
        Ok(self
            .t()
            .users
            .values()
            .find(|(u, _)| u.username.to_lowercase() == username_key)
            .map(|(u, _)| u.clone()))
    }

    fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut users: Vec<User> = self.t().users.values().map(|(u, _)| u.clone()).collect();
        users.sort_by_key(|u| u.username.to_lowercase());
        Ok(users)
    }

    fn set_user_disabled(&self, id: &str, disabled: bool, now: UnixTime) -> StoreResult<()> {
        if let Some((u, _)) = self.t().users.get_mut(id) {
            u.disabled = disabled;
            u.updated_at = now;
        }
        Ok(())
    }

    fn memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
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

    fn add_membership(
        &self,
        org_id: &str,
        user_id: &str,
        role: Role,
        _now: UnixTime,
    ) -> StoreResult<()> {
        let mut t = self.t();
        if t.memberships
            .iter()
            .any(|(o, u, _)| o == org_id && u == user_id)
        {
            return Err(StoreError::Conflict("record"));
        }
        t.memberships
            .push((org_id.to_owned(), user_id.to_owned(), role));
        Ok(())
    }

    fn remove_membership(&self, org_id: &str, user_id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        t.revoke_user_keys(user_id, Some(org_id), now);
        let before = t.memberships.len();
        t.memberships
            .retain(|(o, u, _)| !(o == org_id && u == user_id));
        Ok(t.memberships.len() < before)
    }

    fn delete_user(&self, _user_id: &str, _now: UnixTime) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn user_groups(&self, _user_id: &str) -> StoreResult<Vec<String>> {
        not_in_the_fake()
    }

    fn create_group(&self, _org_id: &str, _name: &str, _now: UnixTime) -> StoreResult<String> {
        not_in_the_fake()
    }

    fn add_group_member(&self, _group_id: &str, _user_id: &str) -> StoreResult<()> {
        not_in_the_fake()
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

impl SessionStore for MemoryStore {
    fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        self.t()
            .sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    fn find_session(&self, id_hash: &str) -> StoreResult<Option<CurrentSession>> {
        let t = self.t();
        Ok(t.sessions.get(id_hash).and_then(|s| t.current_session(s)))
    }

    fn find_session_by_sid(&self, sid: &str) -> StoreResult<Option<CurrentSession>> {
        let t = self.t();
        Ok(t.sessions
            .values()
            .find(|s| s.sid == sid)
            .and_then(|s| t.current_session(s)))
    }

    fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        if let Some(s) = self.t().sessions.get_mut(id_hash) {
            s.last_seen_at = now;
        }
        Ok(())
    }

    fn delete_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<SessionRecord>> {
        let mut t = self.t();
        let found = t.sessions.remove(id_hash);
        if let Some(s) = &found {
            let grants = t.grants_of_sessions(std::slice::from_ref(&s.sid));
            t.revoke_grants(&grants, now);
        }
        Ok(found)
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<usize> {
        let mut t = self.t();
        let before = t.sessions.len();
        t.sessions.retain(|_, s| s.user_id != user_id);
        Ok(before - t.sessions.len())
    }

    fn prune_sessions(&self, now: UnixTime, idle_cutoff: UnixTime) -> StoreResult<usize> {
        let mut t = self.t();
        let ended: Vec<String> = t
            .sessions
            .values()
            .filter(|s| s.expires_at <= now || s.last_seen_at <= idle_cutoff)
            .map(|s| s.sid.clone())
            .collect();
        let grants = t.grants_of_sessions(&ended);
        t.revoke_grants(&grants, now);
        t.sessions.retain(|_, s| !ended.contains(&s.sid));
        Ok(ended.len())
    }
}

impl AuditStore for MemoryStore {
    fn record_event(&self, event: &AuditEvent) -> StoreResult<()> {
        self.t().events.push(event.clone());
        Ok(())
    }

    fn recent_events(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        Ok(self
            .t()
            .events
            .iter()
            .rev()
            .take(limit.max(0) as usize)
            .cloned()
            .collect())
    }
}

impl ApiKeyStore for MemoryStore {
    fn insert_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()> {
        let mut t = self.t();
        t.api_keys.insert(key.id.clone(), key.clone());
        t.key_secrets.push(KeySecret {
            hash: secret_hash.to_owned(),
            key_id: key.id.clone(),
            valid_until: None,
        });
        Ok(())
    }

    fn find_api_key_by_secret(
        &self,
        secret_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<KeyLookup>> {
        let t = self.t();
        let Some(secret) = t
            .key_secrets
            .iter()
            .find(|s| s.hash == secret_hash && s.valid_until.is_none_or(|v| v > now))
        else {
            return Ok(None);
        };
        let Some(key) = t.api_keys.get(&secret.key_id) else {
            return Ok(None);
        };
        let Some((org, _)) = t.orgs.get(&key.org_id) else {
            return Ok(None);
        };
        let creator = key.owner.user_id().and_then(|user_id| {
            let (_, _, role) = t
                .memberships
                .iter()
                .find(|(o, u, _)| *o == key.org_id && u == user_id)?;
            let disabled = t.users.get(user_id).is_none_or(|(u, _)| u.disabled);
            Some((*role, disabled))
        });
        Ok(Some(KeyLookup {
            key: key.clone(),
            secret_valid_until: secret.valid_until,
            org: org.clone(),
            creator,
        }))
    }

    fn find_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self.t().api_keys.get(id).cloned())
    }

    fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self
            .t()
            .api_keys
            .values()
            .filter(|k| k.org_id == org_id && k.revoked_at.is_none())
            .cloned()
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(keys)
    }

    fn revoke_api_key(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        let revoked = match t.api_keys.get_mut(id) {
            Some(k) if k.revoked_at.is_none() => {
                k.revoked_at = Some(now);
                true
            }
            _ => false,
        };
        t.key_secrets.retain(|s| s.key_id != id);
        Ok(revoked)
    }

    fn rotate_api_key_secret(
        &self,
        id: &str,
        secret_hash: &str,
        hint: &str,
        now: UnixTime,
        grace_until: UnixTime,
    ) -> StoreResult<bool> {
        let mut t = self.t();
        match t.api_keys.get_mut(id) {
            Some(k) if k.revoked_at.is_none() => k.hint = hint.to_owned(),
            _ => return Ok(false),
        }
        for s in t.key_secrets.iter_mut().filter(|s| s.key_id == id) {
            if s.valid_until.is_none_or(|v| v > grace_until) {
                s.valid_until = Some(grace_until);
            }
        }
        t.key_secrets
            .retain(|s| !(s.key_id == id && s.valid_until.is_some_and(|v| v <= now)));
        t.key_secrets.push(KeySecret {
            hash: secret_hash.to_owned(),
            key_id: id.to_owned(),
            valid_until: None,
        });
        Ok(true)
    }

    fn record_api_key_usage(&self, usage: &[(String, UnixTime)]) -> StoreResult<()> {
        let mut t = self.t();
        for (id, at) in usage {
            if let Some(k) = t.api_keys.get_mut(id) {
                k.last_used_at = Some(*at);
            }
        }
        Ok(())
    }

    fn create_application(
        &self,
        org_id: &str,
        name: &str,
        scope: &str,
        _created_by: Option<&str>,
        key: &ApiKey,
        secret_hash: &str,
    ) -> StoreResult<Application> {
        let app = {
            let mut t = self.t();
            if t.applications
                .iter()
                .any(|a| a.org_id == org_id && a.name == name)
            {
                return Err(StoreError::Conflict("application"));
            }
            let app = Application {
                id: t.applications.iter().map(|a| a.id).max().unwrap_or(0) + 1,
                org_id: org_id.to_owned(),
                name: name.to_owned(),
                scope: scope.to_owned(),
                created_at: key.created_at,
            };
            t.applications.push(app.clone());
            app
        };
        let key = ApiKey {
            owner: KeyOwner::Application(app.id),
            ..key.clone()
        };
        self.insert_api_key(&key, secret_hash)?;
        Ok(app)
    }

    fn find_application(&self, id: i64) -> StoreResult<Option<Application>> {
        Ok(self.t().applications.iter().find(|a| a.id == id).cloned())
    }

    fn list_applications(&self, org_id: &str) -> StoreResult<Vec<Application>> {
        Ok(self
            .t()
            .applications
            .iter()
            .filter(|a| a.org_id == org_id)
            .cloned()
            .collect())
    }

    fn delete_application(&self, id: i64, now: UnixTime) -> StoreResult<bool> {
        let mut t = self.t();
        let mut keys = Vec::new();
        for k in t.api_keys.values_mut() {
            if k.owner == KeyOwner::Application(id) {
                k.revoked_at = Some(now);
                k.owner = KeyOwner::Orphaned;
                keys.push(k.id.clone());
            }
        }
        t.key_secrets.retain(|s| !keys.contains(&s.key_id));
        let before = t.applications.len();
        t.applications.retain(|a| a.id != id);
        Ok(t.applications.len() < before)
    }
}

impl ClientStore for MemoryStore {
    fn create_client(&self, client: &Client) -> StoreResult<()> {
        let mut t = self.t();
        if t.clients.contains_key(&client.id) {
            return Err(StoreError::Conflict("record"));
        }
        t.clients.insert(client.id.clone(), client.clone());
        Ok(())
    }

    fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
        Ok(self.t().clients.get(id).cloned())
    }

    fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut clients: Vec<Client> = self.t().clients.values().cloned().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(clients)
    }

    fn delete_client(&self, id: &str) -> StoreResult<bool> {
        Ok(self.t().clients.remove(id).is_some())
    }

    fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool> {
        Ok(match self.t().clients.get_mut(id) {
            Some(c) => {
                c.secret_hash = Some(secret_hash.to_owned());
                true
            }
            None => false,
        })
    }
}

impl ConsentStore for MemoryStore {
    fn find_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Scopes>> {
        Ok(self
            .t()
            .consents
            .get(&(user_id.to_owned(), client_id.to_owned()))
            .map(|(scope, _)| scope.clone()))
    }

    fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scopes,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.t().consents.insert(
            (user_id.to_owned(), client_id.to_owned()),
            (scope.clone(), now),
        );
        Ok(())
    }

    fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        let t = self.t();
        let mut found: Vec<ConsentRecord> = t
            .consents
            .iter()
            .filter(|((user, _), _)| user == user_id)
            .filter_map(|((_, client_id), (scope, at))| {
                Some(ConsentRecord {
                    client_id: client_id.clone(),
                    client_name: t.clients.get(client_id)?.name.clone(),
                    scope: scope.clone(),
                    created_at: *at,
                })
            })
            .collect();
        found.sort_by(|a, b| a.client_name.cmp(&b.client_name));
        Ok(found)
    }

    fn revoke_consent(&self, user_id: &str, client_id: &str, now: UnixTime) -> StoreResult<()> {
        let mut t = self.t();
        t.consents
            .remove(&(user_id.to_owned(), client_id.to_owned()));
        let grants: Vec<String> = t
            .grants
            .values()
            .filter(|g| {
                g.user_id.as_deref() == Some(user_id)
                    && g.client_id == client_id
                    && g.revoked_at.is_none()
            })
            .map(|g| g.id.clone())
            .collect();
        t.revoke_grants(&grants, now);
        Ok(())
    }
}

impl GrantStore for MemoryStore {
    fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.t().grants.insert(grant.id.clone(), grant.clone());
        Ok(())
    }

    fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.t().codes.insert(code.code_hash.clone(), code.clone());
        Ok(())
    }

    fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthCode>> {
        Ok(self.t().codes.get(code_hash).cloned())
    }

    fn consume_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<bool> {
        Ok(match self.t().codes.get_mut(code_hash) {
            Some(c) if c.used_at.is_none() => {
                c.used_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn find_grant(&self, id: &str) -> StoreResult<Option<Grant>> {
        Ok(self.t().grants.get(id).cloned())
    }

    fn mark_grant_used(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        Ok(match self.t().grants.get_mut(id) {
            Some(g) if g.revoked_at.is_none() && g.expires_at > now => {
                g.last_used_at = now;
                true
            }
            _ => false,
        })
    }

    fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.t().revoke_grants(&[id.to_owned()], now);
        Ok(())
    }

    fn insert_access_token(&self, token: &AccessTokenRecord) -> StoreResult<()> {
        self.t()
            .access_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    fn find_access_token(&self, token_hash: &str) -> StoreResult<Option<AccessTokenRecord>> {
        Ok(self.t().access_tokens.get(token_hash).cloned())
    }

    fn delete_access_token(&self, token_hash: &str) -> StoreResult<()> {
        self.t().access_tokens.remove(token_hash);
        Ok(())
    }

    fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> StoreResult<()> {
        self.t()
            .refresh_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
        Ok(self.t().refresh_tokens.get(token_hash).cloned())
    }

    fn consume_refresh_token(&self, token_hash: &str, now: UnixTime) -> StoreResult<bool> {
        Ok(match self.t().refresh_tokens.get_mut(token_hash) {
            Some(r) if r.used_at.is_none() => {
                r.used_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn prune_grants(&self, _now: UnixTime) -> StoreResult<usize> {
        not_in_the_fake()
    }
}

/// The device flow has no unit tests yet (its rules are covered end to end in `tests/`).
impl DeviceCodeStore for MemoryStore {
    fn insert_device_code(&self, _code: &DeviceCode) -> StoreResult<()> {
        not_in_the_fake()
    }

    fn find_device_code(&self, _device_code_hash: &str) -> StoreResult<Option<DeviceCode>> {
        not_in_the_fake()
    }

    fn find_device_code_by_user_code(&self, _user_code: &str) -> StoreResult<Option<DeviceCode>> {
        not_in_the_fake()
    }

    fn record_device_poll(
        &self,
        _device_code_hash: &str,
        _now: UnixTime,
        _interval: i64,
    ) -> StoreResult<()> {
        not_in_the_fake()
    }

    fn decide_device_code(
        &self,
        _user_code: &str,
        _approved: bool,
        _user_id: &str,
        _granted_scope: &Scopes,
        _auth_time: UnixTime,
        _amr: &[String],
    ) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn consume_device_code(&self, _device_code_hash: &str) -> StoreResult<bool> {
        not_in_the_fake()
    }

    fn pending_device_codes(
        &self,
        _client_addr: &str,
        _now: UnixTime,
    ) -> StoreResult<(i64, Option<UnixTime>)> {
        not_in_the_fake()
    }

    fn prune_device_codes(&self, _now: UnixTime) -> StoreResult<usize> {
        not_in_the_fake()
    }
}
