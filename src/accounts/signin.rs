//! Password sign-in: the throttle reservation, the password check, the audit trail and the new
//! session, in one sequence shared by every way in. Blocking (store and argon2): call from
//! `web::block`.

use secrecy::SecretString;

use super::password::{Busy, PasswordHasher};
use super::throttle::{Locked, Throttle, account_key};
use super::types::{User, login_key};
use crate::accounts::store::{ThrottleStore, UserStore};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::sessions::service::{self as sessions, SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// One answer for unknown user, wrong password and disabled account.
    #[error("Invalid username or password")]
    Invalid,
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

/// A password sign-in from a browser.
pub struct PasswordSignIn {
    /// Username or e-mail address, as typed.
    pub login: String,
    pub password: SecretString,
    /// The session cookie the browser already had, if any: it is ended, never upgraded.
    pub previous: Option<SessionSecret>,
}

/// Signs the user in ([`sign_in`]) and starts their session with a fresh id (a planted cookie
/// never becomes authenticated). Returns the new session's cookie value.
pub fn sign_in_with_password<S: UserStore + AuditStore + ThrottleStore + SessionStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    throttle: &Throttle,
    policy: SessionPolicy,
    input: PasswordSignIn,
    meta: &RequestMeta,
) -> Result<SessionSecret, SignInError> {
    let user = sign_in(
        store,
        hasher,
        clock,
        throttle,
        &input.login,
        &input.password,
        meta,
    )?;
    if let Some(previous) = input.previous {
        store.delete_session(&previous.hash(), clock.now())?;
    }
    let (secret, _) = sessions::start(store, clock, policy, &user, &["pwd"], meta)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::types::{Email, NewUser, Username};
    use crate::clock::ManualClock;
    use crate::config::{LoginSettings, SessionSettings};
    use crate::testing::memory::MemoryStore;

    const NOW: i64 = 1_700_000_000;

    struct World {
        store: MemoryStore,
        hasher: PasswordHasher,
        clock: ManualClock,
        throttle: Throttle,
        policy: SessionPolicy,
    }

    /// `alice` with the password `alice-password-1`.
    fn world() -> World {
        let store = MemoryStore::new();
        let hasher = PasswordHasher::new(1, 4);
        let hash = hasher
            .hash(&SecretString::from("alice-password-1"))
            .unwrap();
        let alice = NewUser {
            id: "usr_alice".into(),
            username: Username::parse("alice").unwrap(),
            email: Email::parse("alice@example.com").unwrap(),
            display_name: "alice".into(),
            password_hash: Some(hash),
        };
        store.create_user(&alice, None, 0).unwrap();
        World {
            store,
            hasher,
            clock: ManualClock::new(NOW),
            throttle: Throttle::from(&LoginSettings::default()),
            policy: SessionPolicy::from(&SessionSettings::default()),
        }
    }

    fn sign_in_as(
        w: &World,
        password: &str,
        previous: Option<SessionSecret>,
    ) -> Result<SessionSecret, SignInError> {
        let input = PasswordSignIn {
            login: "Alice@Example.com".into(),
            password: SecretString::from(password),
            previous,
        };
        let meta = RequestMeta::default();
        sign_in_with_password(
            &w.store,
            &w.hasher,
            &w.clock,
            &w.throttle,
            w.policy,
            input,
            &meta,
        )
    }

    fn last_event(w: &World) -> String {
        w.store.recent_events(1).unwrap().remove(0).kind
    }

    #[test]
    fn a_sign_in_starts_a_password_session_and_ends_the_previous_one() {
        let w = world();
        let first = sign_in_as(&w, "alice-password-1", None).unwrap();
        let session = w.store.find_session(&first.hash()).unwrap().unwrap();
        assert_eq!(session.user.id, "usr_alice");
        assert_eq!(session.session.amr, ["pwd"]);
        assert_eq!(session.session.auth_time, NOW);
        assert_eq!(last_event(&w), AuditKind::SignInSucceeded.as_str());
        // Signing in again in the same browser: a new id, and the old one is gone.
        let first_hash = first.hash();
        let second = sign_in_as(&w, "alice-password-1", Some(first)).unwrap();
        assert_ne!(second.hash(), first_hash);
        assert!(w.store.find_session(&second.hash()).unwrap().is_some());
        assert!(w.store.find_session(&first_hash).unwrap().is_none());
    }

    #[test]
    fn a_wrong_password_starts_nothing_and_is_recorded() {
        let w = world();
        let planted = sign_in_as(&w, "alice-password-1", None).unwrap();
        let kept = planted.hash();
        assert!(matches!(
            sign_in_as(&w, "wrong-password", Some(planted)),
            Err(SignInError::Invalid)
        ));
        assert_eq!(last_event(&w), AuditKind::SignInFailed.as_str());
        // A refused sign-in leaves the browser's session as it was.
        assert!(w.store.find_session(&kept).unwrap().is_some());
    }
}
