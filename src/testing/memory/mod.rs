//! `MemoryStore`: the storage traits over plain maps behind one mutex, for unit tests of the
//! services. Each method does what the diesel store's query does (the same conditions in the
//! same order), one statement's effect at a time; the races the real store settles are the
//! integration tests' business. What no unit test reaches answers `not in the fake`.

mod accounts;
mod apikeys;
mod federation;
mod flows;
mod mfa;
mod oauth;
mod passkeys;
mod sessions;
mod totp;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::accounts::store::{OrgStore, Reservation, ThrottleStore, UserStore};
use crate::accounts::types::{Membership, NewUser, Organisation, Role, User};
use crate::apikeys::store::{ApiKeyStore, KeyLookup};
use crate::apikeys::types::{ApiKey, Application, KeyOwner};
use crate::audit::{AuditEvent, AuditStore};
use crate::clock::UnixTime;
use crate::credentials::{
    HashedAccessToken, HashedApiKey, HashedAuthCode, HashedClientSecret, HashedDeviceCode,
    HashedRefreshToken, HashedSessionId,
};
use crate::ids::{ApplicationId, ClientId, GrantId, GroupId, KeyId, OrgId, Sid, UserId};
use crate::oauth::store::{ClientStore, ConsentStore, DeviceCodeStore, GrantStore};
use crate::oauth::types::{
    AccessTokenRecord, AuthCode, Client, ConsentRecord, DeviceCode, Grant, RefreshTokenRecord,
};
use crate::scopes::Scopes;
use crate::sessions::store::SessionStore;
use crate::sessions::types::{CurrentSession, SessionRecord};
use crate::store::{StoreError, StoreResult, Unique};

/// What a method no unit test reaches answers.
fn not_in_the_fake<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not in the fake".into()))
}

#[derive(Default)]
pub struct MemoryStore(Mutex<Tables>);

#[derive(Default)]
struct Tables {
    /// By id, with the name key.
    orgs: HashMap<OrgId, (Organisation, String)>,
    /// By id, with the password hash.
    users: HashMap<UserId, (User, Option<String>)>,
    /// `(org_id, user_id, role)`.
    memberships: Vec<(OrgId, UserId, Role)>,
    /// By `id_hash`.
    sessions: HashMap<HashedSessionId, SessionRecord>,
    events: Vec<AuditEvent>,
    throttle: HashMap<String, Counter>,
    api_keys: HashMap<KeyId, ApiKey>,
    key_secrets: Vec<KeySecret>,
    applications: Vec<Application>,
    clients: HashMap<ClientId, Client>,
    /// By `(user_id, client_id)`.
    consents: HashMap<(UserId, ClientId), (Scopes, UnixTime)>,
    grants: HashMap<GrantId, Grant>,
    codes: HashMap<HashedAuthCode, AuthCode>,
    access_tokens: HashMap<HashedAccessToken, AccessTokenRecord>,
    refresh_tokens: HashMap<HashedRefreshToken, RefreshTokenRecord>,
    flows: HashMap<crate::credentials::HashedFlowId, crate::flows::types::Flow>,
    /// The factors each user has (the organisations' requirement comes from `orgs`).
    factors: HashMap<UserId, crate::mfa::types::Factors>,
    /// Registered passkeys, in insertion order.
    passkeys: Vec<crate::mfa::types::StoredPasskey>,
    /// TOTP enrolments by user.
    totp: HashMap<UserId, crate::mfa::store::TotpCredential>,
    /// Rows of `recovery_codes`.
    recovery_codes: Vec<totp::RecoveryRow>,
    /// Organisations that require SSO.
    sso_required: HashSet<OrgId>,
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
    hash: HashedApiKey,
    key_id: KeyId,
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
        let org = Organisation::new(OrgId::new(format!("org_{name}")), name.to_owned(), 0);
        self.create_org(&org, &name.to_lowercase()).unwrap();
        org
    }

    /// Seeds a user (id `usr_<username>`), a member of `org` with `role` when given.
    pub fn user(&self, username: &str, org: Option<(&Organisation, Role)>) -> User {
        let new = NewUser {
            id: UserId::new(format!("usr_{username}")),
            username: crate::accounts::types::Username::parse(username).unwrap(),
            email: crate::accounts::types::Email::parse(&format!("{username}@example.com"))
                .unwrap(),
            display_name: username.to_owned(),
            password_hash: None,
            email_verified: false,
            home: crate::accounts::types::Namespace::Server,
        };
        self.create_user(&new, org.map(|(o, role)| (&o.id, role)), 0)
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
    fn revoke_grants(&mut self, ids: &[GrantId], now: UnixTime) {
        for id in ids {
            if let Some(g) = self.grants.get_mut(id)
                && g.revoked_at.is_none()
            {
                g.revoked_at = Some(now);
            }
            self.access_tokens
                .retain(|_, t| t.grant_id.as_ref() != Some(id));
            self.refresh_tokens.retain(|_, t| &t.grant_id != id);
        }
    }

    /// Unrevoked grants bound to one of these sessions.
    fn grants_of_sessions(&self, sids: &[Sid]) -> Vec<GrantId> {
        self.grants
            .values()
            .filter(|g| g.revoked_at.is_none() && g.sid.as_ref().is_some_and(|s| sids.contains(s)))
            .map(|g| g.id.clone())
            .collect()
    }

    /// `revoke_user_keys`: revokes the unrevoked keys `user_id` created (in `org_id` only).
    fn revoke_user_keys(&mut self, user_id: &UserId, org_id: Option<&OrgId>, now: UnixTime) {
        let mut ids = Vec::new();
        for key in self.api_keys.values_mut() {
            if key.owner.user_id() == Some(user_id)
                && key.revoked_at.is_none()
                && org_id.is_none_or(|o| key.org_id == *o)
            {
                key.revoked_at = Some(now);
                ids.push(key.id.clone());
            }
        }
        self.key_secrets.retain(|s| !ids.contains(&s.key_id));
    }

    fn current_session(&self, s: &SessionRecord) -> Option<CurrentSession> {
        let (user, _) = self.users.get(&s.user_id)?;
        let org = s.org_id.as_ref().and_then(|org_id| {
            let role = self
                .memberships
                .iter()
                .find(|(o, u, _)| o == org_id && *u == s.user_id)?
                .2;
            Some(Membership {
                org: self.orgs.get(org_id)?.0.clone(),
                role,
            })
        });
        Some(CurrentSession {
            session: s.clone(),
            user: user.clone(),
            org,
        })
    }
}
