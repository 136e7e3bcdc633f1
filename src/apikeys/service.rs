//! API key logic: minting (with scope and expiry ceilings), verification, rotation, revocation,
//! applications. Plain Rust over the store; blocking.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::types::*;
use crate::accounts::types::Role;
use crate::apikeys::store::{ApiKeyStore, KeyLookup};
use crate::clock::UnixTime;
use crate::config::ApiKeySettings;
use crate::credentials::PlainApiKey;
use crate::crypto;
use crate::ids::{ApplicationId, KeyId, OrgId, UserId};
use crate::scopes::{API_SCOPES, SCOPE_ADMIN, Scopes, effective, holds, holds_all, role_scopes};
use crate::store::StoreError;

/// Key format settings: `<prefix>_key_<environment>_<random>`.
#[derive(Debug, Clone)]
pub struct KeyFormat {
    pub prefix: String,
    pub environment: String,
    /// Longest lifetime a key may have (`None`: unlimited, `never` allowed).
    pub max_lifetime: Option<i64>,
    /// How long a rotated secret keeps working.
    pub rotation_grace: i64,
}

impl From<&ApiKeySettings> for KeyFormat {
    fn from(keys: &ApiKeySettings) -> Self {
        Self {
            prefix: keys.prefix.clone(),
            environment: keys.environment.clone(),
            max_lifetime: keys.max_lifetime.map(|d| d.as_secs() as i64),
            rotation_grace: keys.rotation_grace.as_secs() as i64,
        }
    }
}

impl KeyFormat {
    fn marker(&self) -> String {
        format!("{}_key_", self.prefix)
    }

    /// Cheap shape check before any lookup.
    pub fn looks_like_key(&self, s: &str) -> bool {
        s.starts_with(&self.marker()) && s.len() >= self.marker().len() + 34 && s.len() <= 200
    }

    fn mint(&self) -> (PlainApiKey, String) {
        let random = crypto::random_base62(43);
        let secret = format!("{}{}_{}", self.marker(), self.environment, random);
        let hint = format!(
            "{}{}_{}…{}",
            self.marker(),
            self.environment,
            &random[..4],
            &random[random.len() - 4..]
        );
        (PlainApiKey::new(secret), hint)
    }
}

/// Who is acting on `/v1`: an API key or an OAuth access token, in one organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: OrgId,
    pub org_name: String,
    /// The organisation's own API key lifetime ceiling.
    pub org_max_lifetime: Option<i64>,
    /// Whether the organisation accepts `?api_key=`.
    pub legacy_query: bool,
    pub user_id: Option<UserId>,
    /// The acting user's role in the organisation; `None` for an organisation-owned credential
    /// (an operator's or an application's key), which acts for the organisation as a whole.
    pub role: Option<Role>,
    pub key_id: Option<KeyId>,
    pub application_id: Option<ApplicationId>,
    /// Effective scopes.
    pub scopes: Scopes,
    pub expires_at: Option<UnixTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("Invalid or expired API key")]
    Invalid,
    #[error("the client address is not in the key's allowlist")]
    IpNotAllowed,
    #[error("Insufficient permissions for this operation")]
    InsufficientScope(String),
    /// A member acting on another member's key.
    #[error("Members may rotate or revoke only the keys they created")]
    NotYours,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Validation(#[from] KeyInputError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Last-use times, gathered in memory and written every 30 s, so verifying a key costs no write.
#[derive(Debug, Default)]
pub struct UsageLog(Mutex<HashMap<KeyId, UnixTime>>);

impl UsageLog {
    pub fn touch(&self, key_id: &KeyId, now: UnixTime) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key_id) {
            Some(t) => *t = (*t).max(now),
            None => {
                map.insert(key_id.clone(), now);
            }
        }
    }

    pub fn drain(&self) -> Vec<(KeyId, UnixTime)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect()
    }
}

/// Checks a presented key: known secret, not revoked or expired, creator still a member (for
/// user keys), client address allowed. Scopes are limited to the creator's current role.
pub fn verify<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    usage: &UsageLog,
    presented: &PlainApiKey,
    client_ip: Option<IpAddr>,
    now: UnixTime,
) -> Result<(Principal, ApiKey), ApiKeyError> {
    if !format.looks_like_key(presented.expose()) {
        return Err(ApiKeyError::Invalid);
    }
    let KeyLookup {
        key,
        secret_valid_until,
        org,
        creator,
    } = store
        .find_api_key_by_secret(&presented.hash(), now)?
        .ok_or(ApiKeyError::Invalid)?;
    if !key.is_live(now) {
        return Err(ApiKeyError::Invalid);
    }
    let (scopes, role) = match &key.owner {
        KeyOwner::User(_) => match creator {
            Some((role, false)) => (effective(&key.scopes, &role_scopes(role)), Some(role)),
            _ => return Err(ApiKeyError::Invalid),
        },
        KeyOwner::Application(_) | KeyOwner::Organisation => (key.scopes.clone(), None),
        KeyOwner::Orphaned => return Err(ApiKeyError::Invalid),
    };
    if !key.ip_allowed(client_ip) {
        return Err(ApiKeyError::IpNotAllowed);
    }
    usage.touch(&key.id, now);
    let principal = Principal {
        org_id: key.org_id.clone(),
        org_name: org.name,
        org_max_lifetime: org.api_key_max_lifetime,
        legacy_query: org.api_key_legacy_query,
        user_id: key.owner.user_id().cloned(),
        role,
        key_id: Some(key.id.clone()),
        application_id: match key.owner {
            KeyOwner::Application(id) => Some(id),
            _ => None,
        },
        scopes,
        // A secret superseded by a rotation acts only until its grace period ends: whatever
        // it creates or rotates must not outlive that.
        expires_at: match (key.expires_at, secret_valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    };
    Ok((principal, key))
}

/// The scopes and organisation an OAuth access token's user acts with on `/v1`.
///
/// The token acts in its grant's organisation (`org`), with the user's role there now: a token
/// of a grant made in no organisation, or whose membership is gone, acts nowhere.
pub fn principal_for_user<S: ApiKeyStore + crate::accounts::store::UserStore>(
    store: &S,
    user_id: &UserId,
    org: Option<&OrgId>,
    token_scope: &Scopes,
    expires_at: UnixTime,
) -> Result<Principal, ApiKeyError> {
    let org = org.ok_or(ApiKeyError::Invalid)?;
    let membership = store
        .membership(user_id, org)?
        .ok_or(ApiKeyError::Invalid)?;
    let role_scope = role_scopes(membership.role);
    let api_scopes = Scopes::parse(
        &token_scope
            .iter()
            .filter(|s| API_SCOPES.contains(s))
            .collect::<Vec<_>>()
            .join(" "),
    )
    .unwrap_or_default();
    Ok(Principal {
        org_max_lifetime: membership.org.api_key_max_lifetime,
        legacy_query: membership.org.api_key_legacy_query,
        org_id: membership.org.id,
        org_name: membership.org.name,
        user_id: Some(user_id.clone()),
        role: Some(membership.role),
        key_id: None,
        application_id: None,
        scopes: effective(&api_scopes, &role_scope),
        expires_at: Some(expires_at),
    })
}

impl Principal {
    /// Owners, admins and organisation-owned credentials manage every key of the organisation;
    /// a member only the keys they created.
    fn manages_others(&self) -> bool {
        self.role.is_none_or(Role::is_admin)
    }

    /// The owner of the keys this principal creates.
    fn owner_of_new_keys(&self) -> KeyOwner {
        match &self.user_id {
            Some(id) => KeyOwner::User(id.clone()),
            None => KeyOwner::Organisation,
        }
    }
}

pub fn require(principal: &Principal, scope: &str) -> Result<(), ApiKeyError> {
    if holds(&principal.scopes, scope) {
        Ok(())
    } else {
        Err(ApiKeyError::InsufficientScope(scope.to_owned()))
    }
}

pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    /// `None`: the default (90 days); `Some("never")`: no expiry.
    pub expires_in: Option<String>,
    pub allowed_ips: Vec<String>,
}

pub const DEFAULT_LIFETIME: i64 = 90 * 86_400;
/// Keys older than this are flagged: the product recommends rotating every 90 days.
pub const ROTATE_AFTER: i64 = 90 * 86_400;

/// A key or application name: 1-100 characters, none of them a control character (a NUL
/// would be stored on SQLite and refused by PostgreSQL; a name is shown on pages and lists).
fn parse_name(name: &str) -> Result<&str, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(KeyInputError::Name.into());
    }
    Ok(name)
}

fn validate(
    format: &KeyFormat,
    org_max: Option<i64>,
    input: &NewKey,
    now: UnixTime,
) -> Result<(String, Scopes, Option<UnixTime>, Vec<ipnet::IpNet>), ApiKeyError> {
    let name = parse_name(&input.name)?.to_owned();
    if input.scopes.is_empty() {
        return Err(KeyInputError::NoScopes.into());
    }
    for s in &input.scopes {
        if !API_SCOPES.contains(&s.as_str()) {
            return Err(KeyInputError::UnknownScope(s.clone()).into());
        }
    }
    let scopes = Scopes::parse(&input.scopes.join(" ")).unwrap_or_default();
    let lifetime = match input.expires_in.as_deref() {
        None => Some(DEFAULT_LIFETIME),
        Some(e) => parse_expiry(e).map_err(KeyInputError::from)?,
    };
    let expires_at = lifetime.map(|l| now + l);
    within_ceiling(format, org_max, expires_at, now)?;
    let allowed = parse_allowlist(&input.allowed_ips).map_err(KeyInputError::from)?;
    Ok((name, scopes, expires_at, allowed))
}

/// The longest lifetime a key may have here: the tighter of the global and the organisation's
/// ceiling (`None`: unlimited).
fn ceiling(format: &KeyFormat, org_max: Option<i64>) -> Option<i64> {
    match (format.max_lifetime, org_max) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Every new secret — created or rotated, a member's or an application's — lives no longer
/// than the [`ceiling`], counted from now.
fn within_ceiling(
    format: &KeyFormat,
    org_max: Option<i64>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> Result<(), ApiKeyError> {
    match ceiling(format, org_max) {
        Some(max) if expires_at.is_none_or(|e| e - now > max) => {
            Err(KeyInputError::BeyondCeiling(max).into())
        }
        _ => Ok(()),
    }
}

/// No credential mints a secret — a key, a rotated secret, an application's key — that
/// outlives itself (`expires_at` `None`: never expires).
fn within_caller(principal: &Principal, expires_at: Option<UnixTime>) -> Result<(), ApiKeyError> {
    match principal.expires_at {
        Some(limit) if expires_at.is_none_or(|e| e > limit) => {
            Err(KeyInputError::OutlivesCaller.into())
        }
        _ => Ok(()),
    }
}

/// Mints a key for `principal`'s organisation. Needs `write:org`; never grants a scope the
/// principal lacks nor outlives it. The secret is returned once.
pub fn create<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    principal: &Principal,
    input: NewKey,
    now: UnixTime,
) -> Result<(ApiKey, PlainApiKey), ApiKeyError> {
    require(principal, "write:org")?;
    let (name, scopes, expires_at, allowed_ips) =
        validate(format, principal.org_max_lifetime, &input, now)?;
    if let Some(missing) = scopes.iter().find(|s| !holds(&principal.scopes, s)) {
        return Err(ApiKeyError::InsufficientScope(missing.to_owned()));
    }
    within_caller(principal, expires_at)?;
    let key = Draft {
        org_id: &principal.org_id,
        owner: principal.owner_of_new_keys(),
        name,
        scopes,
        allowed_ips,
        expires_at,
    };
    store_new(store, format, key, now)
}

struct Draft<'a> {
    org_id: &'a OrgId,
    owner: KeyOwner,
    name: String,
    scopes: Scopes,
    allowed_ips: Vec<ipnet::IpNet>,
    expires_at: Option<UnixTime>,
}

/// Mints the secret and stores the key with only its hash.
fn store_new<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    d: Draft<'_>,
    now: UnixTime,
) -> Result<(ApiKey, PlainApiKey), ApiKeyError> {
    let (secret, hint) = format.mint();
    let key = ApiKey {
        id: KeyId::generate(),
        org_id: d.org_id.clone(),
        owner: d.owner,
        name: d.name,
        hint,
        scopes: d.scopes,
        allowed_ips: d.allowed_ips,
        created_at: now,
        expires_at: d.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_api_key(&key, &secret.hash())?;
    Ok((key, secret))
}

/// For operators (CLI): a key in `org_id`, owned by `user_id` if given.
pub fn create_for_operator<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    org: &crate::accounts::types::Organisation,
    user_id: Option<&UserId>,
    input: NewKey,
    now: UnixTime,
) -> Result<(ApiKey, PlainApiKey), ApiKeyError> {
    let org_id = &org.id;
    let (name, scopes, expires_at, allowed_ips) =
        validate(format, org.api_key_max_lifetime, &input, now)?;
    store_new(
        store,
        format,
        Draft {
            org_id,
            owner: user_id.map_or(KeyOwner::Organisation, |u| KeyOwner::User(u.clone())),
            name,
            scopes,
            allowed_ips,
            expires_at,
        },
        now,
    )
}

/// The key `principal` may rotate or revoke: the rules of creation apply to management too.
/// It must be an unrevoked key of the principal's organisation (otherwise 404: keys of another
/// organisation are not to be seen), an application's key needs `admin`, a member manages only
/// the keys they created, and the principal must hold every scope of the key (so no credential
/// can take over, or take down, one stronger than itself).
fn manageable<S: ApiKeyStore>(
    store: &S,
    principal: &Principal,
    id: &KeyId,
) -> Result<ApiKey, ApiKeyError> {
    require(principal, "write:org")?;
    if id.as_str().chars().any(char::is_control) {
        // No key has such an id (ids are base62): not looked up.
        return Err(ApiKeyError::NotFound);
    }
    let key = store
        .find_api_key(id)?
        .filter(|k| k.revoked_at.is_none() && k.org_id == principal.org_id)
        .ok_or(ApiKeyError::NotFound)?;
    if matches!(key.owner, KeyOwner::Application(_)) {
        require(principal, SCOPE_ADMIN)?;
    }
    if !principal.manages_others() && key.owner.user_id() != principal.user_id.as_ref() {
        return Err(ApiKeyError::NotYours);
    }
    if let Some(missing) = key.scopes.iter().find(|s| !holds(&principal.scopes, s)) {
        return Err(ApiKeyError::InsufficientScope(missing.to_owned()));
    }
    Ok(key)
}

/// Whether the key list shows `principal` a Revoke button for `key`.
pub fn may_manage(principal: &Principal, key: &ApiKey) -> bool {
    holds(&principal.scopes, "write:org")
        && key.org_id == principal.org_id
        && (!matches!(key.owner, KeyOwner::Application(_)) || holds(&principal.scopes, SCOPE_ADMIN))
        && (principal.manages_others() || key.owner.user_id() == principal.user_id.as_ref())
        && holds_all(&principal.scopes, &key.scopes)
}

pub fn list<S: ApiKeyStore>(store: &S, principal: &Principal) -> Result<Vec<ApiKey>, ApiKeyError> {
    require(principal, "read:org")?;
    Ok(store.list_api_keys(&principal.org_id)?)
}

pub fn revoke<S: ApiKeyStore>(
    store: &S,
    principal: &Principal,
    id: &KeyId,
    now: UnixTime,
) -> Result<(), ApiKeyError> {
    let key = manageable(store, principal, id)?;
    store.revoke_api_key(&key.id, now)?;
    Ok(())
}

/// A new secret, same metadata; the old secret works for the grace period. Like creation, the
/// new secret obeys the lifetime ceiling and never outlives the credential that asks for it.
pub fn rotate<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    principal: &Principal,
    id: &KeyId,
    now: UnixTime,
) -> Result<(ApiKey, PlainApiKey), ApiKeyError> {
    let key = manageable(store, principal, id)?;
    within_ceiling(format, principal.org_max_lifetime, key.expires_at, now)?;
    within_caller(principal, key.expires_at)?;
    let (secret, hint) = format.mint();
    let rotated = store.rotate_api_key_secret(
        &key.id,
        &secret.hash(),
        &hint,
        now,
        now + format.rotation_grace,
    )?;
    if !rotated {
        // Revoked meanwhile.
        return Err(ApiKeyError::NotFound);
    }
    Ok((ApiKey { hint, ..key }, secret))
}

pub fn create_application<S: ApiKeyStore>(
    store: &S,
    format: &KeyFormat,
    principal: &Principal,
    name: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(Application, PlainApiKey), ApiKeyError> {
    require(principal, SCOPE_ADMIN)?;
    // An application's key never expires — unless a lifetime ceiling is in force, which binds
    // it like every other key — and never outlives the credential that creates it.
    let expires_at = ceiling(format, principal.org_max_lifetime).map(|max| now + max);
    within_caller(principal, expires_at)?;
    if !matches!(scope, "admin" | "ci") {
        return Err(KeyInputError::ApplicationScope.into());
    }
    let name = parse_name(name)?;
    let (secret, hint) = format.mint();
    let key = ApiKey {
        id: KeyId::generate(),
        org_id: principal.org_id.clone(),
        // The store sets the application's id.
        owner: KeyOwner::Organisation,
        name: format!("application: {name}"),
        hint,
        scopes: Scopes::parse(scope).unwrap_or_default(),
        allowed_ips: vec![],
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let app = store
        .create_application(
            &principal.org_id,
            name,
            scope,
            principal.user_id.as_ref(),
            &key,
            &secret.hash(),
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiKeyError::from(KeyInputError::ApplicationExists(name.to_owned()))
            }
            other => other.into(),
        })?;
    Ok((app, secret))
}

pub fn delete_application<S: ApiKeyStore>(
    store: &S,
    principal: &Principal,
    id: ApplicationId,
    now: UnixTime,
) -> Result<(), ApiKeyError> {
    require(principal, SCOPE_ADMIN)?;
    store
        .find_application(id)?
        .filter(|app| app.org_id == principal.org_id)
        .ok_or(ApiKeyError::NotFound)?;
    store.delete_application(id, now)?;
    Ok(())
}
