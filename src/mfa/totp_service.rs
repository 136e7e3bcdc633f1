//! TOTP as a second factor: enrolment confirmed with a code, recovery codes, turning it off,
//! and a code (or a recovery code) at sign-in within the sign-in flow. Plain Rust over the
//! store traits; blocking: call from `web::block`.

use super::reauth::recent_sign_in;
use super::recovery;
use super::store::{FactorStore, RecoveryStore, TotpCredential, TotpStore, totp_row_id};
use super::totp::Seed;
use super::types::Factors;
use crate::accounts::store::{ThrottleStore, UserStore};
use crate::accounts::throttle::{Locked, Throttle, factor_key};
use crate::accounts::types::User;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::authn::Method;
use crate::clock::{Clock, UnixTime};
use crate::credentials::{PlainFlowId, PlainRecoveryCode};
use crate::flows::service::{self as flows, FlowPolicy, Outcome, Progress};
use crate::flows::store::FlowStore;
use crate::secrets::SecretBox;
use crate::sessions::service::{SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::store::{StoreError, StoreResult};

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("An authenticator app is already set up. Turn it off first to set up another.")]
    AlreadyOn,
    #[error("There is no authenticator app set up waiting for its first code. Start again.")]
    NotPending,
    #[error("No authenticator app is set up.")]
    NotOn,
    #[error("That code is not the current one. Check the time on your phone and try again.")]
    WrongCode,
    #[error("Enter the 6-digit code your authenticator app shows.")]
    Malformed,
    /// The session's sign-in is older than
    /// [`REAUTH_WINDOW`](super::reauth::REAUTH_WINDOW): sign in again first.
    #[error("For this, sign in again first.")]
    NeedsReauth,
    /// A sealed seed did not open: the key file is not the one it was sealed with.
    #[error("a TOTP seed could not be opened: {0}")]
    Sealed(#[from] crate::secrets::SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A pending enrolment, as the security page shows it until a code confirms it.
#[derive(Debug)]
pub struct Pending {
    /// The seed in base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URL and its QR code as a base64 PNG.
    pub url: String,
    pub qr_png_base64: String,
}

/// The user's TOTP as the security page shows it.
#[derive(Debug)]
pub enum TotpState {
    Off,
    Pending(Pending),
    On { unused_recovery_codes: i64 },
}

fn open_seed(secrets: &SecretBox, c: &TotpCredential) -> Result<Seed, TotpError> {
    Ok(Seed::from_bytes(
        secrets.open(&totp_row_id(&c.user_id), &c.sealed_seed)?,
    ))
}

/// The user's TOTP state. `issuer` labels the entry in the authenticator app.
pub fn state_of<S: TotpStore + RecoveryStore>(
    store: &S,
    secrets: &SecretBox,
    user: &User,
    issuer: &str,
) -> Result<TotpState, TotpError> {
    match store.find_totp(&user.id)? {
        None => Ok(TotpState::Off),
        Some(c) if c.confirmed => Ok(TotpState::On {
            unused_recovery_codes: store.unused_recovery_codes(&user.id)?,
        }),
        Some(c) => {
            let seed = open_seed(secrets, &c)?;
            let account = user.username.as_str();
            let url = seed.otpauth_url(issuer, account).unwrap_or_default();
            let qr = seed.qr_png_base64(issuer, account).unwrap_or_default();
            Ok(TotpState::Pending(Pending {
                secret: seed.base32(),
                url,
                qr_png_base64: qr,
            }))
        }
    }
}

/// Starts an enrolment with a fresh seed (replacing a pending one), sealed at rest; it is
/// asked for at sign-in only once [`confirm`]ed.
pub fn begin<S: TotpStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    user: &User,
) -> Result<(), TotpError> {
    let seed = Seed::generate();
    let credential = TotpCredential {
        user_id: user.id.clone(),
        sealed_seed: secrets.seal(&totp_row_id(&user.id), seed.as_bytes()),
        confirmed: false,
        last_step: None,
        created_at: clock.now(),
        confirmed_at: None,
    };
    match store.begin_totp(&credential) {
        Err(StoreError::Conflict(_)) => Err(TotpError::AlreadyOn),
        other => Ok(other?),
    }
}

/// A confirmed enrolment: the recovery codes to show, once; and, when the browser's sign-in
/// flow waited for this enrolment (an organisation requires a second factor), where that
/// flow goes now.
#[derive(Debug)]
pub struct Confirmed {
    pub codes: Vec<PlainRecoveryCode>,
    pub outcome: Option<Outcome>,
}

/// Confirms the pending enrolment with a current code (which is then used), gives the
/// recovery codes, and completes a sign-in flow of this user waiting for the enrolment
/// (`flow`: the browser's flow cookie): TOTP is recorded in it and the session stepped up.
#[allow(clippy::too_many_arguments)]
pub fn confirm<
    S: TotpStore + RecoveryStore + FlowStore + FactorStore + SessionStore + AuditStore + UserStore,
>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    session_policy: SessionPolicy,
    user: &User,
    code: &str,
    flow: Option<(PlainFlowId, SessionSecret)>,
    meta: &RequestMeta,
) -> Result<Confirmed, TotpError> {
    let now = clock.now();
    let Some(pending) = store.find_totp(&user.id)?.filter(|c| !c.confirmed) else {
        return Err(match store.find_totp(&user.id)? {
            Some(_) => TotpError::AlreadyOn,
            None => TotpError::NotPending,
        });
    };
    if super::totp::normalise(code).is_none() {
        return Err(TotpError::Malformed);
    }
    let seed = open_seed(secrets, &pending)?;
    let Some(step) = seed.check(code, now) else {
        return Err(TotpError::WrongCode);
    };
    // Looked for before the confirmation: once TOTP is on, the flow no longer waits.
    let policy = FlowPolicy::default();
    let waiting = match &flow {
        Some((secret, _)) => flows::awaiting_enrolment(store, clock, &policy, secret, &user.id)?,
        None => None,
    };
    if !store.confirm_totp(&user.id, step, now)? {
        return Err(TotpError::NotPending);
    }
    let codes = new_codes(store, &user.id, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::TotpEnrolled, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    let outcome = match (waiting, flow) {
        (Some(waiting), Some((_, previous))) => Some(flows::record(
            store,
            clock,
            session_policy,
            &policy,
            Progress {
                flow: waiting,
                fresh: None,
            },
            user,
            Method::Totp,
            Some(previous),
            meta,
        )?),
        _ => None,
    };
    Ok(Confirmed { codes, outcome })
}

fn new_codes<S: RecoveryStore>(
    store: &S,
    user_id: &crate::ids::UserId,
    now: UnixTime,
) -> StoreResult<Vec<PlainRecoveryCode>> {
    let codes = recovery::generate();
    let hashes: Vec<_> = codes.iter().map(PlainRecoveryCode::hash).collect();
    store.replace_recovery_codes(user_id, &hashes, now)?;
    Ok(codes)
}

/// Replaces the recovery codes with a new set, given a sign-in within
/// [`REAUTH_WINDOW`](super::reauth::REAUTH_WINDOW).
pub fn regenerate_codes<S: TotpStore + RecoveryStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    auth_time: UnixTime,
    meta: &RequestMeta,
) -> Result<Vec<PlainRecoveryCode>, TotpError> {
    let now = clock.now();
    if !recent_sign_in(auth_time, now) {
        return Err(TotpError::NeedsReauth);
    }
    if !store.find_totp(&user.id)?.is_some_and(|c| c.confirmed) {
        return Err(TotpError::NotOn);
    }
    let codes = new_codes(store, &user.id, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::RecoveryCodesRegenerated, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(codes)
}

/// Turns TOTP off (with its recovery codes), given a sign-in within
/// [`REAUTH_WINDOW`](super::reauth::REAUTH_WINDOW). A pending enrolment is simply dropped,
/// without it.
pub fn disable<S: TotpStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    auth_time: UnixTime,
    meta: &RequestMeta,
) -> Result<(), TotpError> {
    let now = clock.now();
    let confirmed = match store.find_totp(&user.id)? {
        None => return Err(TotpError::NotOn),
        Some(c) => c.confirmed,
    };
    if confirmed && !recent_sign_in(auth_time, now) {
        return Err(TotpError::NeedsReauth);
    }
    if store.delete_totp(&user.id)? && confirmed {
        store.record_event(
            &AuditEvent::new(now, AuditKind::TotpRemoved, meta)
                .user(&user.id)
                .subject(&user.username),
        )?;
    }
    Ok(())
}

/// A code typed on the sign-in flow's factor page.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

/// Why a code did not complete the factor. `factors`: to show the page again.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// No flow waits for a code of this browser's (expired, out of attempts, another step).
    #[error("no sign-in waits for a code in this browser")]
    Gone,
    #[error("That code is not right. Try the current code, or a recovery code.")]
    Wrong { factors: Factors },
    #[error("Enter the 6-digit code your authenticator app shows, or a recovery code.")]
    Malformed { factors: Factors },
    #[error("Too many failed sign-ins. Wait a little and try again.")]
    Throttled { factors: Factors, retry_after: u64 },
    #[error(transparent)]
    Totp(#[from] TotpError),
}

impl From<StoreError> for CodeError {
    fn from(e: StoreError) -> Self {
        CodeError::Totp(e.into())
    }
}

/// Checks a TOTP or recovery code for the user of the flow `secret` names, as its second
/// factor. Each evaluated code takes an attempt of the login throttle of that user's second
/// factor ([`factor_key`], which a right password does not clear) and the client's address (so
/// wrong codes lock the factor as wrong passwords lock the account) and a wrong one counts in
/// the flow. A right code is used (its step, or the recovery code, is
/// refused afterwards), audited, and recorded in the flow ([`flows::record`]).
#[allow(clippy::too_many_arguments)]
pub fn sign_in_with_code<S>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    throttle: &Throttle,
    session_policy: SessionPolicy,
    policy: &FlowPolicy,
    secret: &PlainFlowId,
    code: Code<'_>,
    previous: Option<SessionSecret>,
    meta: &RequestMeta,
) -> Result<Outcome, CodeError>
where
    S: FlowStore
        + FactorStore
        + UserStore
        + ThrottleStore
        + AuditStore
        + SessionStore
        + TotpStore
        + RecoveryStore,
{
    let now = clock.now();
    let Some((mut flow, user, factors)) = flows::awaiting_factor(store, clock, policy, secret)?
    else {
        return Err(CodeError::Gone);
    };
    if !factors.totp {
        return Err(CodeError::Gone);
    }
    let recovery_hash = match code {
        Code::Totp(c) if super::totp::normalise(c).is_none() => {
            return Err(CodeError::Malformed { factors });
        }
        Code::Totp(_) => None,
        Code::Recovery(c) => match recovery::hash_typed(c) {
            Some(hash) => Some(hash),
            None => return Err(CodeError::Malformed { factors }),
        },
    };
    let attempt = match throttle.reserve(store, now, &factor_key(&user.id), meta.ip)? {
        Ok(attempt) => attempt,
        Err(Locked { retry_after }) => {
            return Err(CodeError::Throttled {
                factors,
                retry_after,
            });
        }
    };
    let (accepted, refusal) = match recovery_hash {
        Some(hash) => {
            let used = store.use_recovery_code(&user.id, &hash, now)?;
            (used, "wrong or used recovery code")
        }
        None => match store.find_totp(&user.id)?.filter(|c| c.confirmed) {
            None => (false, "no TOTP enrolment"),
            Some(c) => match open_seed(secrets, &c) {
                Err(e) => {
                    attempt.release(store)?;
                    return Err(e.into());
                }
                Ok(seed) => match seed.check(code.text(), now) {
                    None => (false, "wrong code"),
                    Some(step) if store.accept_totp_step(&user.id, step)? => (true, ""),
                    Some(_) => (false, "code already used"),
                },
            },
        },
    };
    let subject = user.username.as_str();
    if !accepted {
        store.record_event(
            &AuditEvent::new(now, AuditKind::TotpRefused, meta)
                .user(&user.id)
                .subject(subject)
                .detail(refusal),
        )?;
        if let Some(lock) = attempt.failed(store, throttle, now)? {
            store.record_event(
                &AuditEvent::new(now, AuditKind::AccountLocked, meta).subject(&lock),
            )?;
        }
        flows::count_failure(store, &mut flow)?;
        return Err(CodeError::Wrong { factors });
    }
    attempt.succeeded(store)?;
    let (kind, method) = match code {
        Code::Totp(_) => (AuditKind::TotpAccepted, Method::Totp),
        Code::Recovery(_) => (AuditKind::RecoveryCodeUsed, Method::RecoveryCode),
    };
    store.record_event(
        &AuditEvent::new(now, kind, meta)
            .user(&user.id)
            .subject(subject),
    )?;
    Ok(flows::record(
        store,
        clock,
        session_policy,
        policy,
        Progress { flow, fresh: None },
        &user,
        method,
        previous,
        meta,
    )?)
}

impl Code<'_> {
    fn text(&self) -> &str {
        match self {
            Code::Totp(c) | Code::Recovery(c) => c,
        }
    }
}
