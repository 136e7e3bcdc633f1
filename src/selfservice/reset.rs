//! Forgot password: a single-use link (30 minutes, only its hash stored, a newer one replaces
//! older ones) sent to the account's address, and the page it opens, which sets a new
//! password and signs out every session. Asking always gets the same answer, whether or not
//! the account exists; asking is throttled per client address and per account. No link for a
//! disabled account, nor for a member of an organisation that requires SSO (owners excepted,
//! who keep their password as sign-in does). Blocking: call from `web::block`.

use secrecy::SecretString;

use super::error::{FieldErrors, SelfServiceError};
use super::mail::{self, LinkMessage, link_url};
use super::service::check_new_password;
use super::store::SelfServiceStore;
use super::types::{EmailLink, LinkKind, PlainEmailLink, RESET_TTL, ResetDone};
use crate::accounts::password::PasswordHasher;
use crate::accounts::signin::MAX_LOGIN_CHARS;
use crate::accounts::store::{Reservation, ThrottleStore, UserStore};
use crate::accounts::throttle::account_key;
use crate::accounts::types::{Role, User, login_key};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::{Clock, UnixTime};
use crate::crypto;
use crate::federation::store::SsoPolicyStore;
use crate::mail::Outbox;
use crate::store::StoreResult;
use crate::web::paths::PASSWORD_RESET;

/// Reset requests per account, and per client address, within [`THROTTLE_WINDOW`].
pub const PER_ACCOUNT: i32 = 5;
pub const PER_ADDRESS: i32 = 20;
/// One hour: once a key has used its requests it is locked this long.
pub const THROTTLE_WINDOW: i64 = 60 * 60;

/// Counts one request against `key` in the sign-in throttle's table (distinct `reset-…` keys);
/// `false` when its requests are used up. The request that uses the last one locks the key for
/// the window, so the pruning of idle counters cannot forget it early.
pub(super) fn counted<S: ThrottleStore>(
    store: &S,
    key: &str,
    max: i32,
    now: UnixTime,
) -> StoreResult<bool> {
    match store.reserve_attempt(key, now, now - THROTTLE_WINDOW, max)? {
        Reservation::Reserved(n) => {
            if n >= max {
                store.lock_until(key, now + THROTTLE_WINDOW)?;
            }
            Ok(true)
        }
        Reservation::Refused { .. } => Ok(false),
    }
}

/// Why no link was sent (for the audit log; the visitor's answer is always the same).
fn no_link(user: Option<&User>) -> Option<&'static str> {
    match user {
        None => Some("unknown account"),
        Some(u) if u.disabled => Some("disabled account"),
        Some(_) => None,
    }
}

/// Handles "forgot password" for `login` (a username or e-mail address of a server account):
/// sends a reset link when the account may have one and the throttles allow it, otherwise
/// nothing. The visitor is told the same either way. Audited `password.reset_requested`
/// (with why nothing was sent, when an account was named).
pub fn request_reset<S>(
    store: &S,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    base: &str,
    login: &str,
    meta: &RequestMeta,
) -> Result<(), SelfServiceError>
where
    S: UserStore + SelfServiceStore + ThrottleStore + SsoPolicyStore + AuditStore,
{
    let now = clock.now();
    if let Some(ip) = meta.ip {
        let key = format!("reset-ip:{}", crate::netaddr::subscriber(ip));
        if !counted(store, &key, PER_ADDRESS, now)? {
            return Ok(());
        }
    }
    if login.chars().count() > MAX_LOGIN_CHARS || login.chars().any(char::is_control) {
        return Ok(());
    }
    let key = login_key(login);
    let user = if key.is_empty() {
        None
    } else {
        store.find_user_for_login(&key)?.map(|(user, _)| user)
    };
    if let Some(reason) = no_link(user.as_ref()) {
        if let Some(user) = &user {
            audit_refused(store, now, user, reason, meta)?;
        }
        return Ok(());
    }
    let Some(user) = user else {
        return Ok(());
    };
    if let Some(m) = store
        .sso_required_memberships(&user.id)?
        .iter()
        .find(|m| m.role != Role::Owner)
    {
        let reason = format!("org {} requires SSO", m.org_name);
        return audit_refused(store, now, &user, &reason, meta);
    }
    if !counted(store, &format!("reset-acct:{}", user.id), PER_ACCOUNT, now)? {
        return audit_refused(store, now, &user, "throttled", meta);
    }
    let plain = PlainEmailLink::new(crypto::random_token());
    store.insert_email_link(
        &EmailLink {
            id_hash: plain.hash(),
            kind: LinkKind::PasswordReset,
            user_id: user.id.clone(),
            email: user.email.clone(),
            created_at: now,
            expires_at: now + RESET_TTL,
        },
        now,
    )?;
    let url = link_url(base, PASSWORD_RESET, plain.expose());
    outbox.send(mail::password_reset(
        &user.email,
        &LinkMessage {
            username: &user.username,
            url: &url,
            valid_for: "30 minutes",
            email: &user.email,
        },
    )?);
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasswordResetRequested, meta)
            .user(&user.id)
            .subject(&user.username)
            .detail("link sent"),
    )?;
    Ok(())
}

fn audit_refused<S: AuditStore>(
    store: &S,
    now: UnixTime,
    user: &User,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), SelfServiceError> {
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasswordResetRequested, meta)
            .user(&user.id)
            .subject(&user.username)
            .detail(format!("no link: {reason}")),
    )?;
    Ok(())
}

/// The account a pending reset link is for (its page shows the form; nothing is spent):
/// `InvalidLink` when used, expired, replaced, unknown, or the account was disabled since.
pub fn pending_reset<S: SelfServiceStore + UserStore>(
    store: &S,
    clock: &dyn Clock,
    token: &PlainEmailLink,
) -> Result<User, SelfServiceError> {
    let link = store
        .find_email_link(&token.hash(), &[LinkKind::PasswordReset], clock.now())?
        .ok_or(SelfServiceError::InvalidLink)?;
    store
        .find_user(&link.user_id)?
        .filter(|u| !u.disabled)
        .ok_or(SelfServiceError::InvalidLink)
}

/// Sets a new password with a reset link: the link is spent (one conditional update, so of two
/// concurrent uses one wins), the password set, the address marked proven (the link reached
/// it), every session of the user signed out with the grants bound to them, in one
/// transaction; then the account's sign-in lockout is cleared. Audited `password.reset`.
pub fn reset_password<S: SelfServiceStore + UserStore + ThrottleStore + AuditStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    token: &PlainEmailLink,
    new: &SecretString,
    repeat: &SecretString,
    meta: &RequestMeta,
) -> Result<ResetDone, SelfServiceError> {
    let user = pending_reset(store, clock, token)?;
    let mut errors = FieldErrors::default();
    check_new_password(&user, new, repeat, &mut errors);
    if !errors.is_empty() {
        return Err(SelfServiceError::Form(errors));
    }
    let hash = hasher.hash(new)?;
    let now = clock.now();
    let done = store
        .reset_password(&token.hash(), &hash, now)?
        .ok_or(SelfServiceError::InvalidLink)?;
    store.clear_throttle(&account_key(Some(&done.user_id), ""))?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasswordReset, meta)
            .user(&done.user_id)
            .subject(&user.username)
            .detail(format!("sessions_ended={}", done.sessions)),
    )?;
    Ok(done)
}
