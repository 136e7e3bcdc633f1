//! Account self-service for the signed-in user: the password, the sessions, the name.
//! Blocking (store and argon2): call from `web::block`.

use secrecy::{ExposeSecret, SecretString};

use super::error::{FieldErrors, SelfServiceError};
use super::store::SelfServiceStore;
use crate::accounts::password::{PasswordHasher, check_strength};
use crate::accounts::store::ThrottleStore;
use crate::accounts::throttle::{Locked, Throttle, account_key};
use crate::accounts::types::User;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::Sid;
use crate::mfa::reauth::recent_sign_in;
use crate::sessions::service::SessionPolicy;
use crate::sessions::store::SessionStore;
use crate::sessions::types::{CurrentSession, SessionRecord};

/// The account's own words, which a guesser tries first: zxcvbn's user inputs.
pub fn user_inputs(user: &User) -> Vec<&str> {
    vec![
        user.username.as_str(),
        user.email.as_str(),
        user.display_name.as_str(),
    ]
}

/// Checks a new password and its repetition: the strength rule, then equality.
pub fn check_new_password(
    user: &User,
    new: &SecretString,
    repeat: &SecretString,
    errors: &mut FieldErrors,
) {
    if let Err(weak) = check_strength(new.expose_secret(), &user_inputs(user)) {
        errors.add("new_password", weak.to_string());
    } else if new.expose_secret() != repeat.expose_secret() {
        errors.add("repeat_password", "The two passwords are not the same.");
    }
}

/// The change-password form.
pub struct PasswordChange {
    /// Empty when the session signed in within the re-authentication window.
    pub current: SecretString,
    pub new: SecretString,
    pub repeat: SecretString,
    /// Sign out the user's other sessions (and the grants bound to them).
    pub sign_out_others: bool,
}

/// Whether `current` may change the password without typing the current one: it signed in
/// within the re-authentication window (the one rule of [`crate::mfa::reauth`]).
pub fn fresh_sign_in(clock: &dyn Clock, current: &CurrentSession) -> bool {
    recent_sign_in(current.session.auth_time, clock.now())
}

/// Changes the signed-in user's password: the current password is checked (counted by the
/// sign-in throttle like a sign-in) unless the session signed in within the re-authentication
/// window; the new one must pass [`check_strength`]. Audited `password.changed`. Returns how
/// many other sessions were signed out.
pub fn change_password<S: SelfServiceStore + ThrottleStore + AuditStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    throttle: &Throttle,
    current: &CurrentSession,
    input: PasswordChange,
    meta: &RequestMeta,
) -> Result<usize, SelfServiceError> {
    let user = &current.user;
    let Some(stored) = store.password_hash(&user.id)? else {
        return Err(SelfServiceError::NoPassword);
    };
    let now = clock.now();
    let fresh = fresh_sign_in(clock, current);
    let mut errors = FieldErrors::default();
    if !fresh && input.current.expose_secret().is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    check_new_password(user, &input.new, &input.repeat, &mut errors);
    if !errors.is_empty() {
        return Err(SelfServiceError::Form(errors));
    }
    if !fresh {
        let account = account_key(Some(&user.id), "");
        let attempt = match throttle.reserve(store, now, &account, meta.ip)? {
            Ok(attempt) => attempt,
            Err(Locked { retry_after }) => return Err(SelfServiceError::Throttled { retry_after }),
        };
        match hasher.verify(&input.current, Some(stored.as_str())) {
            Err(busy) => {
                attempt.release(store)?;
                return Err(busy.into());
            }
            Ok(true) => attempt.succeeded(store)?,
            Ok(false) => {
                store.record_event(
                    &AuditEvent::new(now, AuditKind::SignInFailed, meta)
                        .user(&user.id)
                        .subject(&user.username)
                        .detail("wrong current password (password change)"),
                )?;
                if let Some(lock) = attempt.failed(store, throttle, now)? {
                    store.record_event(
                        &AuditEvent::new(now, AuditKind::AccountLocked, meta).subject(&lock),
                    )?;
                }
                return Err(SelfServiceError::field(
                    "current_password",
                    "This is not your current password.",
                ));
            }
        }
    }
    let hash = hasher.hash(&input.new)?;
    store.set_password_hash(&user.id, &hash, now)?;
    let ended = if input.sign_out_others {
        store.end_user_sessions(&user.id, Some(&current.session.id_hash), true, now)?
    } else {
        0
    };
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasswordChanged, meta)
            .user(&user.id)
            .subject(&user.username)
            .detail(format!("other_sessions_ended={ended}")),
    )?;
    Ok(ended)
}

/// The user's live sessions, most recently used first (live under the server's lifetimes: one
/// that a stricter organisation lifetime already ended is listed until its next request, which
/// ends it).
pub fn live_sessions<S: SelfServiceStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
    user: &User,
) -> Result<Vec<SessionRecord>, SelfServiceError> {
    let now = clock.now();
    Ok(store
        .user_sessions(&user.id)?
        .into_iter()
        .filter(|s| policy.record_is_live(s, None, now))
        .collect())
}

/// Signs out one of the user's other sessions, by its public id (`sid`), with the grants bound
/// to it, as sign-out does. Another user's session is `NotFound`; the current one is refused
/// (signing out is for that). Audited `session.revoked`.
pub fn revoke_session<S: SessionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    current: &CurrentSession,
    sid: &str,
    meta: &RequestMeta,
) -> Result<(), SelfServiceError> {
    let found = store.find_session_by_sid(&Sid::new(sid))?;
    let Some(found) = found.filter(|s| s.session.user_id == current.user.id) else {
        return Err(SelfServiceError::NotFound);
    };
    if found.session.sid == current.session.sid {
        return Err(SelfServiceError::CurrentSession);
    }
    let now = clock.now();
    store.delete_session(&found.session.id_hash, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::SessionRevoked, meta)
            .user(&current.user.id)
            .subject(&current.user.username)
            .detail(format!("sid {}", found.session.sid.as_str())),
    )?;
    Ok(())
}

/// Signs out every other session of the user, with the grants bound to them. Audited
/// `session.revoked_others`; the number ended.
pub fn revoke_other_sessions<S: SelfServiceStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    current: &CurrentSession,
    meta: &RequestMeta,
) -> Result<usize, SelfServiceError> {
    let now = clock.now();
    let ended =
        store.end_user_sessions(&current.user.id, Some(&current.session.id_hash), false, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::OtherSessionsRevoked, meta)
            .user(&current.user.id)
            .subject(&current.user.username)
            .detail(format!("sessions={ended}")),
    )?;
    Ok(ended)
}

/// The longest display name.
pub const MAX_NAME_CHARS: usize = 200;

/// Sets the user's display name (1 to 200 characters, no control characters, trimmed).
/// Audited `profile.updated`; the name as stored.
pub fn set_display_name<S: SelfServiceStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    name: &str,
    meta: &RequestMeta,
) -> Result<String, SelfServiceError> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(SelfServiceError::field(
            "display_name",
            format!("A name has 1 to {MAX_NAME_CHARS} characters, without control characters."),
        ));
    }
    let now = clock.now();
    store.set_display_name(&user.id, name, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::ProfileUpdated, meta)
            .user(&user.id)
            .subject(&user.username)
            .detail("display_name"),
    )?;
    Ok(name.to_owned())
}
