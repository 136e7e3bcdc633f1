//! SCIM Users (RFC 7643 §4.1): an organisation's managed accounts. `active` and DELETE go
//! through the deprovision service; passwords through the accounts service's policy and hasher.

use secrecy::SecretString;
use serde_json::Value;

use super::discovery;
use super::error::ScimError;
use super::filter;
use super::patch;
use super::query::{self, ListQuery};
use super::resource::{self, UserAttrs};
use super::service::{Caller, ListParams, PATCH_RETRIES, audit, check_version, store_error};
use super::store::{NewScimUser, ScimUserRecord, ScimUserStore, ScimUserUpdate, Versioned};
use crate::accounts::password::PasswordHasher;
use crate::accounts::service::validate_password;
use crate::accounts::store::UserStore;
use crate::accounts::types::{Email, Role, User, Username};
use crate::audit::{AuditEvent, AuditKind, AuditStore};
use crate::clock::Clock;
use crate::crypto;
use crate::deprovision::{self, store::DeprovisionStore};
use crate::federation::store::DomainStore;
use crate::ids::UserId;

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
pub trait UserServices:
    ScimUserStore + UserStore + DeprovisionStore + AuditStore + DomainStore
{
}
impl<T: ScimUserStore + UserStore + DeprovisionStore + AuditStore + DomainStore> UserServices
    for T
{
}

/// The account's e-mail address, refused when its domain is verified by *another*
/// organisation: one organisation must not give its accounts another's addresses (which ID
/// tokens would then carry), the rule SSO's just-in-time provisioning follows too.
fn owned_email<S: DomainStore>(
    store: &S,
    caller: &Caller,
    attrs: &UserAttrs,
) -> Result<Email, ScimError> {
    let email = account_email(attrs)?;
    let domain = email
        .as_str()
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_lowercase())
        .unwrap_or_default();
    match store.verified_domain_owner(&domain).map_err(store_error)? {
        Some(owner) if owner != caller.org => Err(ScimError::invalid_value(
            "emails: this address's domain is verified by another organisation",
        )),
        _ => Ok(email),
    }
}

#[tracing::instrument(skip_all, fields(org = %caller.org, token = %caller.token_id))]
pub fn create_user<S: UserServices>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    caller: &Caller,
    body: &Value,
) -> Result<ScimUserRecord, ScimError> {
    let (attrs, password) = UserAttrs::from_json(body)?;
    let email = owned_email(store, caller, &attrs)?;
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
                .org(&caller.org)
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

/// SCIM does not deprovision an owner of the organisation: a SCIM token is an admin's, and
/// only owners act on owners (the console's rule, which also keeps the last owner). An owner
/// demotes the account first (attack review, issue #14).
fn refuse_owner<S: UserServices>(store: &S, caller: &Caller, user: &User) -> Result<(), ScimError> {
    match store
        .membership(&user.id, &caller.org)
        .map_err(store_error)?
    {
        Some(m) if m.role == Role::Owner => Err(ScimError::mutability(
            "an owner of the organisation is not deprovisioned by SCIM; an owner changes their role first",
        )),
        _ => Ok(()),
    }
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
        refuse_owner(store, caller, &user)?;
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
            email: owned_email(store, caller, &stored_attrs)?,
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
    refuse_owner(store, caller, &user)?;
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
                .org(&caller.org)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_from_scim_user_names() {
        let c = username_candidates("Test_User@contoso.com");
        assert_eq!(c[0].as_str(), "Test_User");
        assert_eq!(c[1].as_str(), "Test_User-2");
        assert_eq!(username_candidates("@@")[0].as_str(), "user");
        assert_eq!(username_candidates("Zoë")[0].as_str(), "Zo");
    }
}
