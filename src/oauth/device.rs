//! Device authorization grant (RFC 8628), used by `mintgate auth login`: starting it, the
//! user's approval on the `/device` page, and the client's polling.

use std::net::IpAddr;

use super::error::{ErrorCode, OAuthError};
use super::grantable;
use super::store::OAuthStore;
use super::tenancy::{self, GrantOrg};
use super::types::{Client, DeviceCode, DeviceStatus, GrantType, SCOPE_OFFLINE};
use crate::accounts::store::ThrottleStore;
use crate::accounts::throttle::{Locked, Throttle};
use crate::clock::UnixTime;
use crate::credentials::PlainDeviceCode;
use crate::crypto;
use crate::scopes::Scopes;
use crate::sessions::types::CurrentSession;
use crate::store::StoreError;

/// RFC 8628 §6.1: no vowels (no words), no easily confused characters.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const DEVICE_CODE_TTL: i64 = 600;
pub const POLL_INTERVAL: i64 = 5;
/// `slow_down` adds this to the interval (§3.5).
pub const SLOW_DOWN_STEP: i64 = 5;
/// Live pending device authorizations one client address may hold at once, across every
/// instance. The endpoint needs no credential for the built-in public CLI client, so without
/// a limit anyone could fill the table; a person signing in needs one code at a time, and a
/// NAT or an office behind one address rarely more than a few.
pub const MAX_PENDING_PER_ADDRESS: i64 = 20;

/// The device authorization response (§3.2): the one place the device code is shown, so its
/// `Debug` leaves it out.
#[derive(serde::Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Normalises what a person types: case, spaces and dashes do not matter.
pub fn normalise_user_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `BCDF-GHJK` for display.
pub fn display_user_code(code: &str) -> String {
    // `code` is normally normalised ASCII; checked anyway, so no byte index can fall inside a
    // character.
    if code.len() == 8 && code.is_ascii() {
        let (a, b) = code.split_at(4);
        format!("{a}-{b}")
    } else {
        code.to_owned()
    }
}

/// Too many live pending codes from one address; retry after this many seconds (when the
/// first of them expires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyPending {
    pub retry_after: u64,
}

/// Refuses a new device authorization when `client_addr` already holds
/// [`MAX_PENDING_PER_ADDRESS`] live pending codes. The count is read from the shared
/// database, so the limit holds across instances (requests racing on several instances can
/// overshoot it by a few: it bounds growth, it is not a quota).
pub fn check_pending_limit<S: OAuthStore>(
    store: &S,
    client_addr: &str,
    now: UnixTime,
) -> Result<Result<(), TooManyPending>, StoreError> {
    let (pending, first_expiry) = store.pending_device_codes(client_addr, now)?;
    if pending < MAX_PENDING_PER_ADDRESS {
        return Ok(Ok(()));
    }
    let wait = first_expiry.map_or(DEVICE_CODE_TTL, |e| e - now).max(1);
    Ok(Err(TooManyPending {
        retry_after: wait as u64,
    }))
}

pub fn start<S: OAuthStore>(
    store: &S,
    client: &Client,
    scope: Option<&str>,
    verification_uri: &str,
    client_addr: Option<String>,
    now: UnixTime,
) -> Result<DeviceAuthorization, OAuthError> {
    if !client.allows(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the device grant",
        ));
    }
    let scope = match scope {
        None | Some("") => client.scopes.clone(),
        Some(s) => Scopes::parse(s)
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?
            .intersection(&client.scopes),
    };
    let device_code = PlainDeviceCode::new(crypto::random_base62(43));
    for _ in 0..5 {
        let user_code = crypto::random_from(USER_CODE_ALPHABET, 8);
        let record = DeviceCode {
            device_code_hash: device_code.hash(),
            user_code: user_code.clone(),
            client_id: client.id.clone(),
            scope: scope.clone(),
            created_at: now,
            expires_at: now + DEVICE_CODE_TTL,
            interval: POLL_INTERVAL,
            last_polled_at: None,
            status: DeviceStatus::Pending,
            user_id: None,
            granted_scope: None,
            auth_time: None,
            amr: vec![],
            client_addr: client_addr.clone(),
            org_id: None,
        };
        match store.insert_device_code(&record) {
            Ok(()) => {
                let shown = display_user_code(&user_code);
                return Ok(DeviceAuthorization {
                    // Shown once; only its hash was stored.
                    device_code: device_code.expose().to_owned(),
                    verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                    verification_uri: verification_uri.to_owned(),
                    user_code: shown,
                    expires_in: DEVICE_CODE_TTL,
                    interval: POLL_INTERVAL,
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::server_error())
}

/// What the signed-in user does with a user code on the `/device` page (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCodeStep {
    /// Entered the code: show who asks for what.
    Look,
    /// Answered: approve (`true`) or deny.
    Decide(bool),
}

/// The outcome of a [`UserCodeStep`].
#[derive(Debug)]
pub enum UserCodeOutcome {
    /// Too many wrong codes from this session or address: retry after this many seconds.
    Locked { retry_after: u64 },
    /// No pending, unexpired authorization has this code.
    Unknown,
    /// The client asking, and the scopes the user may grant it.
    Confirm { client_name: String, scope: Scopes },
    /// The answer was recorded.
    Decided { approved: bool },
    /// An organisation of the user requires a second factor this session did not use: nothing
    /// is looked up or recorded until the session is stepped up.
    SecondFactorRequired,
    /// The client belongs to an organisation the user is not a member of: the authorization
    /// was denied (the device gets `access_denied`).
    NotMember,
    /// The user is in several organisations and the session has none active: the picker asks
    /// first (nothing was recorded).
    ChooseOrganisation,
}

#[derive(Debug, thiserror::Error)]
pub enum UserCodeError {
    /// The authorization names a client that no longer exists.
    #[error("the device authorization's client is gone")]
    UnknownClient,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Looks up the user code typed by `current`'s user and, on [`UserCodeStep::Decide`], records
/// their answer with the scopes they may grant ([`grantable`]: no API scope beyond their role,
/// as in the authorization-code flow) and their session's `auth_time` and `amr`. Guessing codes
/// is throttled like passwords, per session and per address: reserved before the lookup, a
/// wrong code counts as a failure. A session short of the organisation MFA requirement
/// ([`crate::mfa::types::Factors::allow`]) gets nothing but
/// [`UserCodeOutcome::SecondFactorRequired`].
pub fn answer_user_code<S: OAuthStore + ThrottleStore>(
    store: &S,
    throttle: &Throttle,
    now: UnixTime,
    current: &CurrentSession,
    ip: Option<IpAddr>,
    typed: &str,
    step: UserCodeStep,
) -> Result<UserCodeOutcome, UserCodeError> {
    // The approval hands the session's sign-in (amr, auth_time) to the device's tokens: it
    // must meet the organisation requirement like the authorization endpoint's.
    if !store.factors(&current.user.id)?.allow(&current.session.amr) {
        return Ok(UserCodeOutcome::SecondFactorRequired);
    }
    let code = normalise_user_code(typed);
    let throttle_key = format!("device:{}", current.session.sid);
    let attempt = match throttle.reserve(store, now, &throttle_key, ip)? {
        Ok(attempt) => attempt,
        Err(Locked { retry_after }) => return Ok(UserCodeOutcome::Locked { retry_after }),
    };
    let found = store
        .find_device_code_by_user_code(&code)?
        .filter(|c| c.status == DeviceStatus::Pending && c.expires_at > now);
    let Some(found) = found else {
        attempt.failed(store, throttle, now)?;
        return Ok(UserCodeOutcome::Unknown);
    };
    attempt.release(store)?;
    let client = store
        .find_client(&found.client_id)?
        .ok_or(UserCodeError::UnknownClient)?;
    // The device flow takes no `organization` parameter: the grant is in the client's
    // organisation, or the session's active one (the picker asks when there is none).
    let org = match tenancy::grant_org(store, &client, current, None)? {
        Ok(GrantOrg::In(org)) => org.map(|m| m.org.id),
        Ok(GrantOrg::Choose) => return Ok(UserCodeOutcome::ChooseOrganisation),
        Err(_) => {
            store.decide_device_code(
                &found.user_code,
                false,
                &current.user.id,
                &Scopes::default(),
                current.session.auth_time,
                &current.session.amr,
                None,
            )?;
            return Ok(UserCodeOutcome::NotMember);
        }
    };
    let allowed = grantable::for_user(store, &current.user.id, org.as_ref(), &found.scope)?;
    match step {
        UserCodeStep::Look => Ok(UserCodeOutcome::Confirm {
            client_name: client.name,
            scope: allowed,
        }),
        UserCodeStep::Decide(approved) => {
            store.decide_device_code(
                &found.user_code,
                approved,
                &current.user.id,
                &allowed,
                current.session.auth_time,
                &current.session.amr,
                org.as_ref(),
            )?;
            Ok(UserCodeOutcome::Decided { approved })
        }
    }
}

/// The token endpoint side (§3.4, §3.5).
pub fn poll<S: OAuthStore>(
    store: &S,
    client: &Client,
    device_code: &PlainDeviceCode,
    now: UnixTime,
) -> Result<DeviceCode, OAuthError> {
    let hash = device_code.hash();
    let code = store
        .find_device_code(&hash)?
        .filter(|c| c.client_id == client.id)
        .ok_or_else(|| OAuthError::invalid_grant("the device code is not valid"))?;
    if code.expires_at <= now {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code has expired",
        ));
    }
    let too_fast = code
        .last_polled_at
        .is_some_and(|last| now - last < code.interval);
    let interval = if too_fast {
        code.interval + SLOW_DOWN_STEP
    } else {
        code.interval
    };
    store.record_device_poll(&hash, now, interval)?;
    match code.status {
        DeviceStatus::Denied => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Consumed => Err(OAuthError::invalid_grant(
            "the device code was already used",
        )),
        _ if too_fast => Err(OAuthError::new(ErrorCode::SlowDown, "polling too often")),
        DeviceStatus::Pending => Err(OAuthError::new(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        )),
        DeviceStatus::Approved => {
            if !store.consume_device_code(&hash)? {
                return Err(OAuthError::invalid_grant(
                    "the device code was already used",
                ));
            }
            Ok(code)
        }
    }
}

/// Whether the approved grant outlives sessions (it is not bound to one: the CLI has none).
pub fn is_offline(scope: &Scopes) -> bool {
    scope.contains(SCOPE_OFFLINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_display_without_slicing_inside_a_character() {
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(display_user_code("ééééé"), "ééééé");
        assert_eq!(display_user_code("abcdéf"), "abcdéf");
    }
}
