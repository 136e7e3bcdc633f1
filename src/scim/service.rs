//! SCIM logic over the store traits: tokens, Users and Groups of one organisation. No actix;
//! blocking (store, argon2): the handlers call it from `web::block`, the CLI directly.
//!
//! Every operation takes the [`Caller`] the bearer token resolved to, so it sees and changes
//! only that organisation's resources: another organisation's users are never found (404) and
//! never collide (their keys live in another namespace and `scim_users` is unique per
//! organisation).

use secrecy::SecretString;
use serde_json::Value;

use super::discovery::{self, MAX_RESULTS};
use super::error::ScimError;
use super::filter;
use super::patch;
use super::query::{self, ListQuery};
use super::resource::{self, GroupAttrs, UserAttrs};
use super::store::{
    NewScimUser, ScimGroupRecord, ScimGroupStore, ScimToken, ScimTokenStore, ScimUserRecord,
    ScimUserStore, ScimUserUpdate, Versioned,
};
use crate::accounts::password::PasswordHasher;
use crate::accounts::service::validate_password;
use crate::accounts::store::UserStore;
use crate::accounts::types::{Email, Username};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::credentials::{Plain, kind};
use crate::crypto;
use crate::deprovision::{self, store::DeprovisionStore};
use crate::ids::{GroupId, OrgId, UserId};
use crate::store::{StoreError, Unique};

/// The prefix of every SCIM token.
pub const TOKEN_PREFIX: &str = "mg_scim_";

pub type PlainScimToken = Plain<kind::ScimToken>;

/// Who is calling: the organisation a valid token belongs to, and the token (the actor in the
/// audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub org: OrgId,
    pub token_id: String,
    pub meta: RequestMeta,
}

fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found(),
        StoreError::Conflict(Unique::Email) => {
            ScimError::uniqueness("An account with that e-mail address exists")
        }
        StoreError::Conflict(_) => ScimError::uniqueness("userName or displayName is taken"),
        StoreError::Unstorable => ScimError::invalid_value("A value cannot be stored"),
        StoreError::Unavailable(_) => ScimError::unavailable(),
        StoreError::Backend(e) => {
            tracing::error!(error = %e, "SCIM store error");
            ScimError::internal()
        }
    }
}

// ---- tokens ---------------------------------------------------------------------------

/// Mints a token for `org`; the value is returned once and only its hash is stored.
#[tracing::instrument(skip_all, fields(org = %org))]
pub fn create_token<S: ScimTokenStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    description: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<(ScimToken, PlainScimToken), StoreError> {
    let now = clock.now();
    let plain = PlainScimToken::new(format!("{TOKEN_PREFIX}{}", crypto::random_base62(43)));
    let description: String = description.trim().chars().take(100).collect();
    let token = ScimToken {
        id: crypto::new_id("sct"),
        org: org.clone(),
        description: if description.is_empty() {
            "SCIM".into()
        } else {
            description
        },
        created_at: now,
        created_by: actor.cloned(),
        revoked_at: None,
    };
    store.create_scim_token(&token, &plain.hash())?;
    let mut event = AuditEvent::new(now, AuditKind::ScimTokenCreated, meta)
        .subject(&token.id)
        .detail(format!("org {}", org.as_str()));
    if let Some(a) = actor {
        event = event.user(a);
    }
    store.record_event(&event)?;
    Ok((token, plain))
}

/// Revokes one of `org`'s tokens; `false` when it has no live token of that id.
#[tracing::instrument(skip_all, fields(org = %org, id = %id))]
pub fn revoke_token<S: ScimTokenStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    id: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<bool, StoreError> {
    let now = clock.now();
    if !store.revoke_scim_token(org, id, now)? {
        return Ok(false);
    }
    let mut event = AuditEvent::new(now, AuditKind::ScimTokenRevoked, meta)
        .subject(id)
        .detail(format!("org {}", org.as_str()));
    if let Some(a) = actor {
        event = event.user(a);
    }
    store.record_event(&event)?;
    Ok(true)
}

/// The caller a presented bearer token stands for: a live token, compared by hash in
/// constant time. Anything else is `401`.
#[tracing::instrument(skip_all)]
pub fn authenticate<S: ScimTokenStore>(
    store: &S,
    presented: &str,
    meta: RequestMeta,
) -> Result<Caller, ScimError> {
    if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 200 {
        return Err(ScimError::unauthorized());
    }
    let hash = PlainScimToken::new(presented).hash();
    match store.find_scim_token(&hash).map_err(store_error)? {
        Some((token, stored)) if stored.matches(&hash) => Ok(Caller {
            org: token.org,
            token_id: token.id,
            meta,
        }),
        _ => Err(ScimError::unauthorized()),
    }
}

// ---- shared ---------------------------------------------------------------------------

/// The list parameters of RFC 7644 §3.4.2, as received.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

impl ListParams {
    fn page(&self) -> (i64, i64) {
        // startIndex below 1 is 1; a negative count is 0 (RFC 7644 §3.4.2.4).
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(100).clamp(0, MAX_RESULTS);
        (start, count)
    }

    fn descending(&self) -> Result<bool, ScimError> {
        match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => Ok(false),
            Some("descending") => Ok(true),
            Some(_) => Err(ScimError::invalid_value(
                "sortOrder is ascending or descending",
            )),
        }
    }
}

/// `If-Match` (RFC 7644 §3.14): `*`, `W/"n"` or `"n"`. `Ok(None)` when absent or `*`.
pub fn parse_if_match(header: Option<&str>) -> Result<Option<i64>, ScimError> {
    let Some(h) = header.map(str::trim) else {
        return Ok(None);
    };
    if h == "*" {
        return Ok(None);
    }
    let v = h.strip_prefix("W/").unwrap_or(h);
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        // A version we never issued cannot match.
        .ok_or_else(ScimError::precondition_failed)
}

fn check_version(if_match: Option<i64>, current: i64) -> Result<(), ScimError> {
    match if_match {
        Some(v) if v != current => Err(ScimError::precondition_failed()),
        _ => Ok(()),
    }
}

fn audit<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    kind: AuditKind,
    caller: &Caller,
    user: Option<&UserId>,
    subject: &str,
) -> Result<(), ScimError> {
    let mut event = AuditEvent::new(clock.now(), kind, &caller.meta)
        .subject(subject)
        .detail(format!(
            "org {} scim_token={}",
            caller.org.as_str(),
            caller.token_id
        ));
    if let Some(u) = user {
        event = event.user(u);
    }
    store.record_event(&event).map_err(store_error)
}

/// How often a PATCH without `If-Match` retries when a concurrent write bumped the version
/// under it. Each retry means another write succeeded, so n concurrent writers need at most n
/// tries; past this bound the answer is a 409 to try again.
const PATCH_RETRIES: usize = 64;

// ---- Users ----------------------------------------------------------------------------

fn username_base(user_name: &str) -> String {
    let local = user_name.split('@').next().unwrap_or_default();
    let kept: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(50)
        .collect();
    if kept.is_empty() { "user".into() } else { kept }
}

fn username_candidates(user_name: &str) -> Vec<Username> {
    let base = username_base(user_name);
    let mut out: Vec<Username> = (1..=10)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .chain(std::iter::once(format!(
            "{base}-{}",
            crypto::random_base62(8).to_lowercase()
        )))
        .filter_map(|n| Username::parse(&n).ok())
        .collect();
    out.dedup();
    out
}

/// The account's e-mail address: the SCIM primary (or first) address, else the userName if
/// it is one. An account needs one (SSO links by it).
fn account_email(attrs: &UserAttrs) -> Result<Email, ScimError> {
    match attrs.primary_email() {
        Some(e) => Email::parse(&e.value)
            .map_err(|_| ScimError::invalid_value("emails.value is not an e-mail address")),
        None => Email::parse(&attrs.user_name).map_err(|_| {
            ScimError::invalid_value("emails: an address is required (or a userName that is one)")
        }),
    }
}

fn account_display_name(attrs: &UserAttrs) -> String {
    let name = attrs
        .display_name
        .clone()
        .or_else(|| attrs.formatted.clone())
        .or_else(|| {
            let n = [attrs.given_name.as_deref(), attrs.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!n.is_empty()).then_some(n)
        })
        .unwrap_or_else(|| attrs.user_name.clone());
    name.chars().take(200).collect()
}

fn hash_password(
    hasher: &PasswordHasher,
    password: Option<SecretString>,
) -> Result<Option<String>, ScimError> {
    match password {
        None => Ok(None),
        Some(pw) => {
            validate_password(&pw)
                .map_err(|_| ScimError::invalid_value("password must be 8 to 1024 characters"))?;
            hasher
                .hash(&pw)
                .map(Some)
                .map_err(|_| ScimError::unavailable())
        }
    }
}

/// Renders a user.
pub fn user_json(record: &ScimUserRecord, base: &str) -> Value {
    let location = format!("{base}/Users/{}", record.id.as_str());
    record
        .attrs
        .to_json(record.id.as_str(), record.meta, &location, &record.groups)
}

/// The services the User operations need.
pub trait UserServices: ScimUserStore + UserStore + DeprovisionStore + AuditStore {}
impl<T: ScimUserStore + UserStore + DeprovisionStore + AuditStore> UserServices for T {}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn create_user<S: UserServices>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    caller: &Caller,
    body: &Value,
) -> Result<ScimUserRecord, ScimError> {
    let (attrs, password) = UserAttrs::from_json(body)?;
    let email = account_email(&attrs)?;
    let password_hash = hash_password(hasher, password)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let new = NewScimUser {
        id: UserId::generate(),
        usernames: username_candidates(&attrs.user_name),
        email,
        display_name: account_display_name(&attrs),
        password_hash,
        attrs: UserAttrs {
            active: true,
            ..attrs.clone()
        },
    };
    let record = store
        .create_scim_user(&caller.org, &new, clock.now())
        .map_err(store_error)?;
    let now = clock.now();
    store
        .record_event(
            &AuditEvent::new(now, AuditKind::UserCreated, &caller.meta)
                .user(&record.id)
                .subject(&record.attrs.user_name)
                .detail(format!("org {} by SCIM", caller.org.as_str())),
        )
        .map_err(store_error)?;
    audit(
        store,
        clock,
        AuditKind::ScimUserCreated,
        caller,
        Some(&record.id),
        &record.attrs.user_name,
    )?;
    if !attrs.active {
        // Created inactive: the account exists but cannot sign in.
        return set_active(store, clock, caller, record, false);
    }
    Ok(record)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn get_user<S: ScimUserStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
) -> Result<ScimUserRecord, ScimError> {
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    store
        .get_scim_user(&caller.org, &UserId::new(id))
        .map_err(store_error)?
        .ok_or_else(ScimError::not_found)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn list_users<S: ScimUserStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    params: &ListParams,
    base: &str,
) -> Result<Value, ScimError> {
    let filter = match params.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => Some(query::user_filter(&filter::parse(f)?)?),
        _ => None,
    };
    let sort = match params.sort_by.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(query::user_sort(s)?),
        _ => None,
    };
    let (start, count) = params.page();
    let q = ListQuery {
        filter,
        sort,
        descending: params.descending()?,
        offset: start - 1,
        limit: count,
    };
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let (total, records) = store
        .list_scim_users(&caller.org, &q)
        .map_err(store_error)?;
    let resources = records
        .iter()
        .map(|r| {
            let mut v = user_json(r, base);
            resource::project(&mut v, &params.attributes, &params.excluded_attributes);
            v
        })
        .collect();
    Ok(discovery::list_response(resources, total, start))
}

/// Sets `active` through the deprovision service and bumps the version.
fn set_active<S: UserServices>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    mut record: ScimUserRecord,
    active: bool,
) -> Result<ScimUserRecord, ScimError> {
    let user = store
        .find_user(&record.id)
        .map_err(store_error)?
        .ok_or_else(ScimError::not_found)?;
    let result = if active {
        deprovision::enable(store, clock, &user, None, &caller.meta).map(|()| None)
    } else {
        deprovision::disable(store, clock, &user, None, &caller.meta).map(Some)
    };
    let ended = result.map_err(|e| match e {
        deprovision::DeprovisionError::Store(e) => store_error(e),
        _ => ScimError::not_found(),
    })?;
    audit(
        store,
        clock,
        AuditKind::ScimUserUpdated,
        caller,
        Some(&record.id),
        &match ended {
            Some(ended) => format!(
                "{} active=false {}",
                record.attrs.user_name,
                ended.summary()
            ),
            None => format!("{} active=true", record.attrs.user_name),
        },
    )?;
    store
        .touch_scim_user(&caller.org, &record.id, clock.now())
        .map_err(store_error)?;
    store
        .get_scim_user(&caller.org, &record.id)
        .map_err(store_error)?
        .map_or_else(
            || {
                record.attrs.active = active;
                Ok(record.clone())
            },
            Ok,
        )
}

/// Writes `attrs` over `old` (one version), then applies an `active` change.
fn write_user<S: UserServices>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    caller: &Caller,
    old: &ScimUserRecord,
    attrs: UserAttrs,
    password: Option<SecretString>,
) -> Result<Versioned<ScimUserRecord>, ScimError> {
    let active = attrs.active;
    let password_hash = hash_password(hasher, password)?;
    let stored_attrs = UserAttrs {
        active: old.attrs.active,
        ..attrs
    };
    let mut record = old.clone();
    if stored_attrs != old.attrs || password_hash.is_some() {
        let update = ScimUserUpdate {
            email: account_email(&stored_attrs)?,
            display_name: account_display_name(&stored_attrs),
            password_hash,
            attrs: stored_attrs,
        };
        record = match store
            .update_scim_user(&caller.org, &old.id, old.meta.version, &update, clock.now())
            .map_err(store_error)?
        {
            Versioned::Done(r) => r,
            Versioned::Missing => return Ok(Versioned::Missing),
            Versioned::Stale => return Ok(Versioned::Stale),
        };
        audit(
            store,
            clock,
            AuditKind::ScimUserUpdated,
            caller,
            Some(&old.id),
            &record.attrs.user_name,
        )?;
    }
    if active != old.attrs.active {
        record = set_active(store, clock, caller, record, active)?;
    }
    Ok(Versioned::Done(record))
}

/// PUT (RFC 7644 §3.5.1): the body replaces the user's attributes.
#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn replace_user<S: UserServices>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimUserRecord, ScimError> {
    let (mut attrs, password) = UserAttrs::from_json(body)?;
    let old = get_user(store, clock, caller, id)?;
    check_version(if_match, old.meta.version)?;
    if !resource::has_attr(body, "active") {
        // A PUT that does not mention `active` leaves it: a deprovisioned user is not enabled
        // again by a client that does not send the attribute.
        attrs.active = old.attrs.active;
    }
    match write_user(store, hasher, clock, caller, &old, attrs, password)? {
        Versioned::Done(r) => Ok(r),
        Versioned::Missing => Err(ScimError::not_found()),
        Versioned::Stale => Err(ScimError::precondition_failed()),
    }
}

/// PATCH (RFC 7644 §3.5.2): the operations apply to the current representation, which is
/// then written back if its version is still the one read (retried without `If-Match`).
#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn patch_user<S: UserServices>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimUserRecord, ScimError> {
    let ops = patch::parse_request(body)?;
    for _ in 0..PATCH_RETRIES {
        let old = get_user(store, clock, caller, id)?;
        check_version(if_match, old.meta.version)?;
        let mut doc = user_json(&old, "");
        patch::apply(&mut doc, &ops)?;
        let (attrs, password) = UserAttrs::from_json(&doc)?;
        match write_user(store, hasher, clock, caller, &old, attrs, password)? {
            Versioned::Done(r) => return Ok(r),
            Versioned::Missing => return Err(ScimError::not_found()),
            Versioned::Stale if if_match.is_some() => {
                return Err(ScimError::precondition_failed());
            }
            Versioned::Stale => continue,
        }
    }
    Err(ScimError::new(
        409,
        None,
        "The resource kept changing; try again",
    ))
}

/// DELETE: the user is deprovisioned (everything ends at once), then the account is deleted.
#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn delete_user<S: UserServices>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    if_match: Option<i64>,
) -> Result<(), ScimError> {
    let old = get_user(store, clock, caller, id)?;
    check_version(if_match, old.meta.version)?;
    let user = store
        .find_user(&old.id)
        .map_err(store_error)?
        .ok_or_else(ScimError::not_found)?;
    deprovision::disable(store, clock, &user, None, &caller.meta).map_err(|e| match e {
        deprovision::DeprovisionError::Store(e) => store_error(e),
        _ => ScimError::not_found(),
    })?;
    let now = clock.now();
    if !store.delete_user(&old.id, now).map_err(store_error)? {
        return Err(ScimError::not_found());
    }
    store
        .record_event(
            &AuditEvent::new(now, AuditKind::UserDeleted, &caller.meta)
                .user(&old.id)
                .subject(&user.username)
                .detail(format!("org {} by SCIM", caller.org.as_str())),
        )
        .map_err(store_error)?;
    audit(
        store,
        clock,
        AuditKind::ScimUserDeleted,
        caller,
        Some(&old.id),
        &old.attrs.user_name,
    )
}

// ---- Groups ---------------------------------------------------------------------------

pub fn group_json(record: &ScimGroupRecord, base: &str) -> Value {
    GroupAttrs::to_json(
        record.id.as_str(),
        &record.display_name,
        record.external_id.as_deref(),
        &record.members,
        record.meta,
        &format!("{base}/Groups/{}", record.id.as_str()),
        &format!("{base}/Users"),
    )
}

/// Whether a rendering with these parameters shows `members` (lists skip loading them when
/// the client excludes them, as Azure AD does).
pub fn wants_members(attributes: &[String], excluded: &[String]) -> bool {
    let is_members = |a: &String| {
        let a = a.trim().to_ascii_lowercase();
        a == "members" || a.starts_with("members.") || a.ends_with(":members")
    };
    if excluded.iter().any(is_members) {
        return false;
    }
    attributes.is_empty() || attributes.iter().any(is_members)
}

fn member_ids(attrs: &GroupAttrs) -> Vec<UserId> {
    attrs
        .members
        .iter()
        .map(|m| UserId::new(m.as_str()))
        .collect()
}

fn group_store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => {
            ScimError::invalid_value("A member is not a user of this organisation")
        }
        StoreError::Conflict(_) => {
            ScimError::uniqueness("The organisation has a group of that displayName")
        }
        other => store_error(other),
    }
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn create_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    body: &Value,
) -> Result<ScimGroupRecord, ScimError> {
    let attrs = GroupAttrs::from_json(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let record = store
        .create_scim_group(
            &caller.org,
            &GroupId::generate(),
            &attrs.display_name,
            attrs.external_id.as_deref(),
            &member_ids(&attrs),
            clock.now(),
        )
        .map_err(group_store_error)?;
    audit(
        store,
        clock,
        AuditKind::ScimGroupCreated,
        caller,
        None,
        &record.display_name,
    )?;
    Ok(record)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn get_group<S: ScimGroupStore>(
    store: &S,
    caller: &Caller,
    id: &str,
    with_members: bool,
) -> Result<ScimGroupRecord, ScimError> {
    store
        .get_scim_group(&caller.org, &GroupId::new(id), with_members)
        .map_err(store_error)?
        .ok_or_else(ScimError::not_found)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn list_groups<S: ScimGroupStore>(
    store: &S,
    caller: &Caller,
    params: &ListParams,
    base: &str,
) -> Result<Value, ScimError> {
    let filter = match params.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => Some(query::group_filter(&filter::parse(f)?)?),
        _ => None,
    };
    let sort = match params.sort_by.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(query::group_sort(s)?),
        _ => None,
    };
    let (start, count) = params.page();
    let q = ListQuery {
        filter,
        sort,
        descending: params.descending()?,
        offset: start - 1,
        limit: count,
    };
    let with_members = wants_members(&params.attributes, &params.excluded_attributes);
    let (total, records) = store
        .list_scim_groups(&caller.org, &q, with_members)
        .map_err(store_error)?;
    let resources = records
        .iter()
        .map(|r| {
            let mut v = group_json(r, base);
            resource::project(&mut v, &params.attributes, &params.excluded_attributes);
            v
        })
        .collect();
    Ok(discovery::list_response(resources, total, start))
}

fn write_group<S: ScimGroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    old: &ScimGroupRecord,
    attrs: &GroupAttrs,
) -> Result<Versioned<ScimGroupRecord>, ScimError> {
    let r = store
        .update_scim_group(
            &caller.org,
            &old.id,
            old.meta.version,
            &attrs.display_name,
            attrs.external_id.as_deref(),
            &member_ids(attrs),
            clock.now(),
        )
        .map_err(group_store_error)?;
    if let Versioned::Done(g) = &r {
        audit(
            store,
            clock,
            AuditKind::ScimGroupUpdated,
            caller,
            None,
            &format!("{} {}", g.id.as_str(), g.display_name),
        )?;
    }
    Ok(r)
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn replace_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimGroupRecord, ScimError> {
    let attrs = GroupAttrs::from_json(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    let old = get_group(store, caller, id, false)?;
    check_version(if_match, old.meta.version)?;
    match write_group(store, clock, caller, &old, &attrs)? {
        Versioned::Done(r) => Ok(r),
        Versioned::Missing => Err(ScimError::not_found()),
        Versioned::Stale => Err(ScimError::precondition_failed()),
    }
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn patch_group<S: ScimGroupStore + ScimUserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
) -> Result<ScimGroupRecord, ScimError> {
    let ops = patch::parse_request(body)?;
    store
        .adopt_managed_users(&caller.org, clock.now())
        .map_err(store_error)?;
    for _ in 0..PATCH_RETRIES {
        let old = get_group(store, caller, id, true)?;
        check_version(if_match, old.meta.version)?;
        let mut doc = group_json(&old, "");
        patch::apply(&mut doc, &ops)?;
        let attrs = GroupAttrs::from_json(&doc)?;
        match write_group(store, clock, caller, &old, &attrs)? {
            Versioned::Done(r) => return Ok(r),
            Versioned::Missing => return Err(ScimError::not_found()),
            Versioned::Stale if if_match.is_some() => {
                return Err(ScimError::precondition_failed());
            }
            Versioned::Stale => continue,
        }
    }
    Err(ScimError::new(
        409,
        None,
        "The resource kept changing; try again",
    ))
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn delete_group<S: ScimGroupStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
    if_match: Option<i64>,
) -> Result<(), ScimError> {
    let old = get_group(store, caller, id, false)?;
    check_version(if_match, old.meta.version)?;
    if !store
        .delete_scim_group(&caller.org, &old.id)
        .map_err(store_error)?
    {
        return Err(ScimError::not_found());
    }
    audit(
        store,
        clock,
        AuditKind::ScimGroupDeleted,
        caller,
        None,
        &format!("{} {}", old.id.as_str(), old.display_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(parse_if_match(None).unwrap(), None);
        assert_eq!(parse_if_match(Some("*")).unwrap(), None);
        assert_eq!(parse_if_match(Some("W/\"3\"")).unwrap(), Some(3));
        assert_eq!(parse_if_match(Some("\"4\"")).unwrap(), Some(4));
        assert_eq!(parse_if_match(Some("W/\"x\"")).unwrap_err().status, 412);
    }

    #[test]
    fn usernames_from_scim_user_names() {
        let c = username_candidates("Test_User@contoso.com");
        assert_eq!(c[0].as_str(), "Test_User");
        assert_eq!(c[1].as_str(), "Test_User-2");
        assert_eq!(username_candidates("@@")[0].as_str(), "user");
        assert_eq!(username_candidates("Zoë")[0].as_str(), "Zo");
    }

    #[test]
    fn members_are_loaded_only_when_shown() {
        assert!(wants_members(&[], &[]));
        assert!(!wants_members(&[], &["members".into()]));
        assert!(!wants_members(&["displayName".into()], &[]));
        assert!(wants_members(&["members.value".into()], &[]));
    }
}
