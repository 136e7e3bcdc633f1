//! Account logic: creating organisations and users, signing in with throttling, disabling.
//! Blocking (store and argon2): call from `web::block` or the CLI.

use secrecy::{ExposeSecret, SecretString};

use super::password::{Busy, PasswordHasher};
use super::throttle::{Locked, Throttle, account_key};
use super::types::*;
use crate::accounts::store::{OrgStore, ThrottleStore, UserStore};
use crate::audit::AuditStore;
use crate::audit::{AuditEvent, AuditKind, RequestMeta};
use crate::clock::Clock;
use crate::ids::{OrgId, UserId};
use crate::store::{StoreError, Unique};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Input(#[from] AccountInputError),
    #[error("a user with that {0} already exists")]
    Duplicate(Unique),
    /// An organisation of that name exists (the text is the one operators have always seen).
    #[error("a user with that organisation name already exists")]
    DuplicateOrg,
    #[error("no organisation named `{0}`")]
    UnknownOrg(String),
    #[error("no user named `{0}`")]
    UnknownUser(String),
    #[error("that user is not a member of that organisation")]
    NotMember,
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => AccountError::Duplicate(what),
            other => AccountError::Store(other),
        }
    }
}

pub fn validate_password(password: &SecretString) -> Result<(), AccountInputError> {
    let n = password.expose_secret().chars().count();
    if (8..=1024).contains(&n) {
        Ok(())
    } else {
        Err(AccountInputError::Password)
    }
}

pub fn create_org<S: OrgStore>(
    store: &S,
    clock: &dyn Clock,
    name: &str,
) -> Result<Organisation, AccountError> {
    let (name, key) = parse_org_name(name)?;
    let org = Organisation::new(OrgId::generate(), name, clock.now());
    store.create_org(&org, &key).map_err(|e| match e {
        StoreError::Conflict(_) => AccountError::DuplicateOrg,
        other => other.into(),
    })?;
    Ok(org)
}

pub struct CreateUser {
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password: Option<SecretString>,
    pub org: Option<String>,
    pub role: Role,
}

pub fn create_user<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    input: CreateUser,
    meta: &RequestMeta,
) -> Result<(User, Option<Organisation>), AccountError> {
    let username = Username::parse(&input.username)?;
    let email = Email::parse(&input.email)?;
    let org = match &input.org {
        Some(name) => Some(
            store
                .find_org(&name.trim().to_lowercase())?
                .ok_or_else(|| AccountError::UnknownOrg(name.clone()))?,
        ),
        None => None,
    };
    let password_hash = match &input.password {
        Some(pw) => {
            validate_password(pw)?;
            Some(hasher.hash(pw)?)
        }
        None => None,
    };
    let display_name = input
        .display_name
        .map(|d| d.trim().chars().take(200).collect::<String>())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| username.as_str().to_owned());
    let new = NewUser {
        id: UserId::generate(),
        username,
        email,
        display_name,
        password_hash,
    };
    let now = clock.now();
    let user = store.create_user(&new, org.as_ref().map(|o| (&o.id, input.role)), now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::UserCreated, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok((user, org))
}

fn user_named<S: UserStore>(store: &S, username: &str) -> Result<User, AccountError> {
    store
        .find_user_by_username(&username.trim().to_lowercase())?
        .ok_or_else(|| AccountError::UnknownUser(username.to_owned()))
}

/// Disabling takes effect at once: sessions are resolved against the user row on every request.
pub fn set_disabled<S: UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    username: &str,
    disabled: bool,
    meta: &RequestMeta,
) -> Result<User, AccountError> {
    let user = user_named(store, username)?;
    let now = clock.now();
    store.set_user_disabled(&user.id, disabled, now)?;
    let kind = if disabled {
        AuditKind::UserDisabled
    } else {
        AuditKind::UserEnabled
    };
    store.record_event(
        &AuditEvent::new(now, kind, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(User {
        disabled,
        updated_at: now,
        ..user
    })
}

/// Deletes a user for good: their sessions, grants and memberships go, and every API key they
/// created is revoked in the same transaction (a key never outlives its creator).
pub fn delete_user<S: UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    username: &str,
    meta: &RequestMeta,
) -> Result<User, AccountError> {
    let user = user_named(store, username)?;
    let now = clock.now();
    store.delete_user(&user.id, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::UserDeleted, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(user)
}

/// Removes a user from an organisation; their API keys there are revoked in the same
/// transaction.
pub fn remove_member<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &str,
    username: &str,
    meta: &RequestMeta,
) -> Result<(User, Organisation), AccountError> {
    let org = store
        .find_org(&org.trim().to_lowercase())?
        .ok_or_else(|| AccountError::UnknownOrg(org.to_owned()))?;
    let user = user_named(store, username)?;
    let now = clock.now();
    if !store.remove_membership(&org.id, &user.id, now)? {
        return Err(AccountError::NotMember);
    }
    store.record_event(
        &AuditEvent::new(now, AuditKind::MemberRemoved, meta)
            .user(&user.id)
            .subject(&format!("{}@{}", user.username, org.name)),
    )?;
    Ok((user, org))
}

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
