//! The deprovision service: the operator's CLI calls it now, SCIM and the admin pages later.
//! Callers resolve the user and organisation (by name, id or SCIM resource); these functions
//! end the access and audit it. Blocking: call from `web::block` or the CLI.

use super::store::{DeprovisionStore, Ended, Removal};
use crate::accounts::types::{Organisation, User};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::failure::Failure;
use crate::ids::UserId;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DeprovisionError {
    #[error("that user is not a member of that organisation")]
    NotMember,
    #[error("no such user")]
    UnknownUser,
    /// The organisation's last owner cannot be removed (issue #14).
    #[error("that user is the organisation's last owner")]
    LastOwner,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DeprovisionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DeprovisionError::UnknownUser,
            other => DeprovisionError::Store(other),
        }
    }
}

impl DeprovisionError {
    pub fn failure(&self) -> Failure {
        match self {
            DeprovisionError::NotMember | DeprovisionError::UnknownUser => Failure::NotFound,
            DeprovisionError::LastOwner => Failure::BadRequest,
            DeprovisionError::Store(e) => Failure::of_store(e),
        }
    }
}

fn audit<S: AuditStore>(
    store: &S,
    event: AuditEvent,
    actor: Option<&UserId>,
) -> Result<(), DeprovisionError> {
    // The event names the user acted on; an administrator acting is named in the detail.
    let event = match actor {
        Some(actor) => {
            let detail = event.detail.clone().unwrap_or_default();
            event.detail(format!("{detail} by={}", actor.as_str()))
        }
        None => event,
    };
    Ok(store.record_event(&event)?)
}

/// Removes `user` from `org`: the membership, their API keys there, their grants and sessions
/// in that organisation, their pending sign-ins and device authorisations for it end at once,
/// on every instance (each request reads them from the database). An account `org` manages is
/// disabled too (it has no other organisation). Audited `membership.removed` (and
/// `user.disabled`); `actor` is the administrator, `None` for the operator.
pub fn remove_from_org<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    user: &User,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Ended, DeprovisionError> {
    let now = clock.now();
    let ended = store
        .remove_from_org(&org.id, &user.id, now)?
        .ok_or(DeprovisionError::NotMember)?;
    let event = AuditEvent::new(now, AuditKind::MemberRemoved, meta)
        .org(&org.id)
        .user(&user.id)
        .subject(&format!("{}@{}", user.username, org.name))
        .detail(ended.summary());
    audit(store, event, actor)?;
    if ended.disabled {
        let event = AuditEvent::new(now, AuditKind::UserDisabled, meta)
            .org(&org.id)
            .user(&user.id)
            .subject(&user.username)
            .detail(format!("removed from its organisation {}", org.id.as_str()));
        audit(store, event, actor)?;
    }
    Ok(ended)
}

/// Disables `user`: every session, grant, API key they created, pending sign-in and device
/// authorisation ends in the same transaction as the flag is set. Audited `user.disabled`.
pub fn disable<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Ended, DeprovisionError> {
    let now = clock.now();
    let ended = store.disable_user(&user.id, now)?;
    let event = AuditEvent::new(now, AuditKind::UserDisabled, meta)
        .user(&user.id)
        .subject(&user.username)
        .detail(ended.summary());
    audit(store, event, actor)?;
    Ok(ended)
}

/// Enables `user` again. Only the flag changes: what [`disable`] ended stays ended (old
/// cookies, refresh tokens and API keys are refused), so the user signs in afresh.
pub fn enable<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<(), DeprovisionError> {
    let now = clock.now();
    store.enable_user(&user.id, now)?;
    let event = AuditEvent::new(now, AuditKind::UserEnabled, meta)
        .user(&user.id)
        .subject(&user.username);
    audit(store, event, actor)
}

// The organisation console (issue #14): an administrator's actions on a member, audited with
// the organisation and the administrator (`by=` in the detail, as above).

/// Removes `user` from `org` as [`remove_from_org`] does, refused (`LastOwner`, nothing
/// changed) when they are its last owner: the check and the removal are one transaction.
pub fn remove_member<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    user: &User,
    actor: &UserId,
    meta: &RequestMeta,
) -> Result<Ended, DeprovisionError> {
    let now = clock.now();
    let ended = match store.remove_member_keeping_owner(&org.id, &user.id, now)? {
        Removal::Removed(ended) => ended,
        Removal::NotMember => return Err(DeprovisionError::NotMember),
        Removal::LastOwner => return Err(DeprovisionError::LastOwner),
    };
    let event = AuditEvent::new(now, AuditKind::MemberRemoved, meta)
        .org(&org.id)
        .user(&user.id)
        .subject(&format!("{}@{}", user.username, org.name))
        .detail(ended.summary());
    audit(store, event, Some(actor))?;
    if ended.disabled {
        let event = AuditEvent::new(now, AuditKind::UserDisabled, meta)
            .org(&org.id)
            .user(&user.id)
            .subject(&user.username)
            .detail(format!("removed from its organisation {}", org.id.as_str()));
        audit(store, event, Some(actor))?;
    }
    Ok(ended)
}

/// [`disable`] by an administrator of `org` (the account's own organisation: the caller checks).
pub fn disable_in_org<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    user: &User,
    actor: &UserId,
    meta: &RequestMeta,
) -> Result<Ended, DeprovisionError> {
    let now = clock.now();
    let ended = store.disable_user(&user.id, now)?;
    let event = AuditEvent::new(now, AuditKind::UserDisabled, meta)
        .org(&org.id)
        .user(&user.id)
        .subject(&user.username)
        .detail(ended.summary());
    audit(store, event, Some(actor))?;
    Ok(ended)
}

/// [`enable`] by an administrator of `org`.
pub fn enable_in_org<S: DeprovisionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    user: &User,
    actor: &UserId,
    meta: &RequestMeta,
) -> Result<(), DeprovisionError> {
    let now = clock.now();
    store.enable_user(&user.id, now)?;
    let event = AuditEvent::new(now, AuditKind::UserEnabled, meta)
        .org(&org.id)
        .user(&user.id)
        .subject(&user.username);
    audit(store, event, Some(actor))
}
