//! Password sign-in: the throttle reservation, the password check and the audit trail, in one
//! sequence shared by every way in; the sign-in flow (`crate::flows`) turns it into a session.
//! Blocking (store and argon2): call from `web::block`.

use secrecy::SecretString;

use super::password::{Busy, PasswordHasher};
use super::throttle::{Locked, Throttle, account_key};
use super::types::{User, login_key};
use crate::accounts::store::{ThrottleStore, UserStore};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// One answer for unknown user, wrong password and disabled account.
    #[error("Invalid username or password")]
    Invalid,
    /// The password was right, but an organisation of the user requires SSO and the user is
    /// not its owner (see `crate::federation::policy`).
    #[error(
        "{org} requires single sign-on: use \"Continue with SSO\" with your work e-mail address or the organisation's name"
    )]
    SsoRequired { org: String },
    #[error("too many failed sign-ins; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest login worth looking up: an e-mail address has at most 254 characters (RFC 5321).
pub const MAX_LOGIN_CHARS: usize = 254;

/// Checks a username-or-email and password. The attempt is reserved with the throttle before
/// any hash is computed (locked accounts and addresses cost nothing); every evaluated failure
/// costs the same one hash.
pub fn sign_in<S: UserStore + AuditStore + ThrottleStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    throttle: &Throttle,
    login: &str,
    password: &SecretString,
    meta: &RequestMeta,
) -> Result<User, SignInError> {
    if login.chars().count() > MAX_LOGIN_CHARS || login.chars().any(char::is_control) {
        // No account has such a login (usernames and e-mail addresses have no control
        // characters, and PostgreSQL cannot even compare a NUL): refused before any work.
        return Err(SignInError::Invalid);
    }
    let key = login_key(login);
    let now = clock.now();
    let found = if key.is_empty() {
        None
    } else {
        store.find_user_for_login(&key)?
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let account = account_key(user.as_ref().map(|u| &u.id), &key);
    let attempt = match throttle.reserve(store, now, &account, meta.ip)? {
        Ok(attempt) => attempt,
        Err(Locked { retry_after }) => return Err(SignInError::Throttled { retry_after }),
    };
    let password_ok = match hasher.verify(password, hash.as_deref()) {
        Ok(ok) => ok,
        Err(busy) => {
            // Not evaluated: the attempt is given back.
            attempt.release(store)?;
            return Err(busy.into());
        }
    };
    match user {
        Some(user) if password_ok && !user.disabled => {
            attempt.succeeded(store)?;
            store.record_event(
                &AuditEvent::new(now, AuditKind::SignInSucceeded, meta)
                    .user(&user.id)
                    .subject(&user.username),
            )?;
            Ok(user)
        }
        user => {
            let reason = match &user {
                None => "unknown user",
                Some(u) if u.disabled => "disabled user",
                Some(_) => "wrong password",
            };
            let mut event = AuditEvent::new(now, AuditKind::SignInFailed, meta)
                .subject(&key)
                .detail(reason);
            if let Some(u) = &user {
                event = event.user(&u.id);
            }
            store.record_event(&event)?;
            if let Some(lock) = attempt.failed(store, throttle, now)? {
                store.record_event(
                    &AuditEvent::new(now, AuditKind::AccountLocked, meta).subject(&lock),
                )?;
            }
            Err(SignInError::Invalid)
        }
    }
}
