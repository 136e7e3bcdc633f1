//! Passkeys (WebAuthn Level 2, with webauthn-rs 0.6): registered from Settings > Security, used
//! to sign in on their own (usernameless, discoverable credentials, user verification required)
//! or as the second factor after a password.
//!
//! - The relying party is the issuer: its host is the RP ID, its origin the only origin
//!   accepted ([`RelyingParty::from_issuer`]). An issuer whose host is an IP address has no
//!   passkeys (WebAuthn needs a domain; `localhost` is one).
//! - Credentials are registered as webauthn-rs "security keys" (user verification preferred,
//!   attestation `none`) with `residentKey: preferred`: a platform passkey or a PIN-protected
//!   key becomes discoverable and verifies the user, and a U2F-only key still works as a second
//!   factor. Without attestation nothing proves hardware, so the `amr` is `swk`
//!   ([`Method::Passkey`] with `hardware: false`), plus `user` when the assertion verified the
//!   user.
//! - The user handle is derived from the user id ([`user_handle`]): no column, and the same
//!   handle on every instance.
//! - Authentication state lives sealed in the sign-in flow's `ceremony` (several instances
//!   share it) and is used once: cleared by a conditional update before it is checked.
//!   Registration state is sealed under the session's `sid` and travels in a short-lived
//!   cookie (see `passkey_http`): it cannot be opened in another session and expires with
//!   [`CEREMONY_TTL`]. It is used once: it names a flow row begun for it whose marker a
//!   conditional update clears before the answer is checked, so a replayed cookie (with the
//!   same credential or another authenticator's answer to the same challenge) finds none.
//! - Registering or removing a passkey needs a sign-in within
//!   [`REAUTH_WINDOW`](super::reauth::REAUTH_WINDOW), as turning TOTP off does, unless the
//!   browser's sign-in flow waits for this user to enrol a second factor (an organisation
//!   requires one; the session was just made for it): see [`may_change`].
//! - The signature counter (§7.2 step 21): a counter not above the stored one is refused
//!   (unless both are 0, as synced passkeys send) and audited, and the stored counter moves
//!   only forwards, by a conditional update ([`PasskeyStore::use_passkey`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{
    RegisterPublicKeyCredential, SecurityKey, SecurityKeyRegistration, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::store::PasskeyStore;
use super::types::StoredPasskey;
use crate::accounts::store::UserStore;
use crate::accounts::types::User;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::authn::Method;
use crate::clock::{Clock, UnixTime};
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FlowPolicy, Outcome, Progress};
use crate::flows::store::FlowStore;
use crate::flows::types::{Flow, Requirement, Resume};
use crate::ids::{Sid, UserId};
use crate::mfa::reauth::recent_sign_in;
use crate::mfa::store::FactorStore;
use crate::secrets::SecretBox;
use crate::sessions::service::{SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::store::{StoreError, Unique};

/// How long a ceremony's challenge may be answered (seconds).
pub const CEREMONY_TTL: i64 = 300;
/// Passkeys one user may register (bounds the registration state, which lists them).
pub const MAX_PASSKEYS: usize = 20;
/// The longest passkey name, in characters.
pub const MAX_NAME: usize = 64;

/// The relying party: webauthn-rs configured from the issuer, built once at start-up.
pub struct RelyingParty {
    pub(super) webauthn: Webauthn,
}

impl RelyingParty {
    /// The RP ID is the issuer's host and the only accepted origin is the issuer's origin
    /// (scheme, host and port). `None` when the host is not a domain name.
    pub fn from_issuer(issuer: &Url) -> Option<Self> {
        let rp_id = issuer.domain()?;
        let origin = Url::parse(&issuer.origin().ascii_serialization()).ok()?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .ok()?
            .rp_name("mintgate")
            .build()
            .ok()?;
        Some(Self { webauthn })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("Passkeys are not available here: the server's address is not a domain name.")]
    Unavailable,
    #[error("This passkey request has expired or was already answered. Try again.")]
    NoCeremony,
    #[error("The passkey's answer could not be read.")]
    Malformed,
    #[error("The passkey was not accepted.")]
    Refused,
    #[error("This passkey is not registered here.")]
    Unknown,
    #[error(
        "This passkey's signature counter went backwards, which a copied key would do: it was \
         refused. Use another passkey or your password, and check this key."
    )]
    CounterRollback,
    #[error("This passkey is already registered.")]
    Duplicate,
    #[error("A passkey's name is 1 to 64 characters, without control characters.")]
    BadName,
    #[error("You already have 20 passkeys: remove one first.")]
    TooMany,
    #[error("No such passkey.")]
    NotFound,
    /// The session's sign-in is older than [`super::reauth::REAUTH_WINDOW`]: sign in again.
    #[error("For this, sign in again first.")]
    NeedsReauth,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The WebAuthn user handle of a user: 16 bytes of SHA-256 over the user id, as a UUID (v8,
/// custom). Deterministic, so it needs no column and every instance agrees; it reveals
/// nothing about the account beyond being stable for it.
pub fn user_handle(user: &UserId) -> Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("mintgate webauthn user handle|{user}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // RFC 9562 §5.8: version 8, variant 10.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// A passkey name as typed: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub fn clean_name(raw: &str) -> Result<String, PasskeyError> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME || name.chars().any(char::is_control) {
        return Err(PasskeyError::BadName);
    }
    Ok(name.to_owned())
}

/// Whether an assertion's counter may follow the stored one (WebAuthn L2 §7.2 step 21): it
/// must be greater, unless both are 0 (an authenticator without a counter).
pub fn counter_advances(stored: i64, asserted: i64) -> bool {
    asserted > stored || (stored == 0 && asserted == 0)
}

fn registration_row(sid: &Sid) -> String {
    format!("passkey-registration|{sid}")
}

#[derive(Serialize, Deserialize)]
struct SealedRegistration {
    at: UnixTime,
    state: SecurityKeyRegistration,
    /// The flow that makes this registration single use ([`REGISTRATION_MARK`]).
    once: String,
}

/// The ceremony marker of the flow a registration begins: cleared (by a conditional update)
/// by the one finish that may use the registration state.
const REGISTRATION_MARK: &str = "passkey-registration";

pub(super) fn security_key(p: &StoredPasskey) -> Result<SecurityKey, PasskeyError> {
    serde_json::from_str(&p.credential)
        .map_err(|_| StoreError::Backend("unreadable stored value: passkey".into()).into())
}

pub(super) fn json<T: Serialize>(value: &T) -> Result<Value, PasskeyError> {
    serde_json::to_value(value).map_err(|e| StoreError::Backend(e.to_string()).into())
}

/// The stored counter of a credential as webauthn-rs serialises it (its fields are private).
fn counter_of(key: &Value) -> i64 {
    key.pointer("/cred/counter")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Maps a verification failure: a counter that went backwards is [`PasskeyError::CounterRollback`];
/// anything else (signature, challenge, origin, flags) is a refusal.
pub(super) fn refused(e: WebauthnError) -> PasskeyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => PasskeyError::CounterRollback,
        WebauthnError::ParseNOMFailure
        | WebauthnError::ParseCBORFailure(_)
        | WebauthnError::ParseJSONFailure(_)
        | WebauthnError::ParseBase64Failure(_)
        | WebauthnError::ParseInsufficientBytesAvailable => PasskeyError::Malformed,
        _ => PasskeyError::Refused,
    }
}

/// Whether `user`, signed in at `auth_time`, may register or remove a passkey now: with a
/// sign-in within [`REAUTH_WINDOW`](super::reauth::REAUTH_WINDOW) (as turning TOTP off), or
/// while the browser's sign-in flow `waiting` waits for this user to enrol a second factor (an
/// organisation requires one, and the session was made for that). Gives that flow.
pub fn may_change<S: FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    user: &UserId,
    auth_time: UnixTime,
    waiting: Option<&PlainFlowId>,
) -> Result<Option<Flow>, PasskeyError> {
    let flow = match waiting {
        Some(flow) => flows::awaiting_enrolment(store, clock, &FlowPolicy::default(), flow, user)?,
        None => None,
    };
    if flow.is_none() && !recent_sign_in(auth_time, clock.now()) {
        return Err(PasskeyError::NeedsReauth);
    }
    Ok(flow)
}

/// Starts registering a passkey for the signed-in `user` (signed in at `auth_time`; see
/// [`may_change`] for `waiting`): the options for `navigator.credentials.create()` and the
/// state, sealed under the session's `sid`.
#[allow(clippy::too_many_arguments)]
pub fn begin_registration<S: PasskeyStore + FlowStore + FactorStore>(
    store: &S,
    rp: &RelyingParty,
    secrets: &SecretBox,
    clock: &dyn Clock,
    user: &User,
    sid: &Sid,
    auth_time: UnixTime,
    waiting: Option<&PlainFlowId>,
    client_addr: Option<String>,
) -> Result<(Value, String), PasskeyError> {
    may_change(store, clock, &user.id, auth_time, waiting)?;
    let existing = store.passkeys_of(&user.id)?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany);
    }
    let exclude = existing
        .iter()
        .map(|p| security_key(p).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (ccr, state) = rp
        .webauthn
        .start_securitykey_registration(
            user_handle(&user.id),
            &user.username,
            &user.display_name,
            Some(exclude),
            None,
            None,
        )
        .map_err(refused)?;
    let mut options = json(&ccr)?;
    if let Some(public_key) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
        // Any authenticator, not only security keys; discoverable where it can be.
        public_key.remove("hints");
        // No credProtect: browsers refuse a policy above "optional" for a credential that is
        // only preferably resident (Chromium: "protection policy is inconsistent").
        if let Some(ext) = public_key
            .get_mut("extensions")
            .and_then(Value::as_object_mut)
        {
            ext.remove("credentialProtectionPolicy");
            ext.remove("enforceCredentialProtectionPolicy");
        }
        let selection = public_key
            .entry("authenticatorSelection")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(selection) = selection.as_object_mut() {
            selection.insert("residentKey".into(), "preferred".into());
            selection.insert("requireResidentKey".into(), false.into());
        }
    }
    // Single use: a flow row of its own (bounded per address like every flow), marked.
    let once = flows::begin(
        store,
        clock,
        Requirement::default(),
        Resume::Page(String::new()),
        client_addr,
    )?;
    let mut flow = store
        .find_flow(&once.hash())?
        .ok_or(PasskeyError::NoCeremony)?;
    flow.ceremony = Some(REGISTRATION_MARK.to_owned());
    store.update_flow(&flow)?;
    let sealed = SealedRegistration {
        at: clock.now(),
        state,
        once: once.expose().to_owned(),
    };
    let plain = serde_json::to_vec(&sealed).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok((options, secrets.seal(&registration_row(sid), &plain)))
}

/// What the settings page posts to finish a registration.
pub struct Registration<'a> {
    /// The sealed state [`begin_registration`] gave.
    pub sealed: &'a str,
    /// `navigator.credentials.create()`'s answer as JSON.
    pub response: &'a str,
    pub name: &'a str,
    /// The browser's flow and session cookies: a sign-in flow of this user waiting for a second
    /// factor to be enrolled (an organisation requires one) goes on with this passkey.
    pub waiting: Option<(PlainFlowId, SessionSecret)>,
    pub session_policy: SessionPolicy,
    /// When the session signed in ([`may_change`]).
    pub auth_time: UnixTime,
}

/// A registered passkey, and where a sign-in flow that waited for it goes now.
#[derive(Debug)]
pub struct Registered {
    pub passkey: StoredPasskey,
    pub outcome: Option<Outcome>,
}

/// Checks the authenticator's answer against the state sealed for this session and stores the
/// new passkey. A flow waiting for this user's enrolment records the passkey (the answer was
/// made with it, over a fresh challenge) and signs in or steps the session up.
#[allow(clippy::too_many_arguments)]
pub fn finish_registration<S>(
    store: &S,
    rp: &RelyingParty,
    secrets: &SecretBox,
    clock: &dyn Clock,
    user: &User,
    sid: &Sid,
    input: Registration<'_>,
    meta: &RequestMeta,
) -> Result<Registered, PasskeyError>
where
    S: PasskeyStore + AuditStore + FlowStore + FactorStore + SessionStore + UserStore,
{
    let now = clock.now();
    // Looked for before the insert: once the passkey is stored, the flow no longer waits.
    let waiting = may_change(
        store,
        clock,
        &user.id,
        input.auth_time,
        input.waiting.as_ref().map(|(flow, _)| flow),
    )?;
    let name = clean_name(input.name)?;
    let plain = secrets
        .open(&registration_row(sid), input.sealed)
        .map_err(|_| PasskeyError::NoCeremony)?;
    let sealed: SealedRegistration =
        serde_json::from_slice(&plain).map_err(|_| PasskeyError::NoCeremony)?;
    if !(sealed.at <= now && now - sealed.at <= CEREMONY_TTL) {
        return Err(PasskeyError::NoCeremony);
    }
    // Whoever clears the mark checks the answer; a replay finds none.
    let once = PlainFlowId::new(sealed.once);
    if !store.clear_ceremony(&once.hash(), REGISTRATION_MARK)? {
        return Err(PasskeyError::NoCeremony);
    }
    store.take_flow(&once.hash())?;
    let response: RegisterPublicKeyCredential =
        serde_json::from_str(input.response).map_err(|_| PasskeyError::Malformed)?;
    let key = rp
        .webauthn
        .finish_securitykey_registration(&response, &sealed.state)
        .map_err(refused)?;
    if store.passkeys_of(&user.id)?.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany);
    }
    let credential = json(&key)?;
    let policy = FlowPolicy::default();
    let passkey = StoredPasskey {
        id: crate::crypto::new_id("pk"),
        user_id: user.id.clone(),
        credential_id: URL_SAFE_NO_PAD.encode(key.cred_id().as_slice()),
        name,
        sign_count: counter_of(&credential),
        credential: credential.to_string(),
        created_at: now,
        last_used_at: None,
    };
    match store.insert_passkey(&passkey) {
        Err(StoreError::Conflict(Unique::Record)) => return Err(PasskeyError::Duplicate),
        other => other?,
    }
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasskeyRegistered, meta)
            .user(&user.id)
            .detail(passkey.id.clone()),
    )?;
    let outcome = match (waiting, input.waiting) {
        (Some(flow), Some((_, previous))) => {
            let verified = credential
                .pointer("/cred/user_verified")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Some(flows::record(
                store,
                clock,
                input.session_policy,
                &policy,
                Progress { flow, fresh: None },
                user,
                Method::Passkey {
                    verified,
                    hardware: false,
                },
                Some(previous),
                meta,
            )?)
        }
        _ => None,
    };
    Ok(Registered { passkey, outcome })
}

/// Renames one of the user's passkeys.
pub fn rename<S: PasskeyStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    user: &UserId,
    id: &str,
    name: &str,
    meta: &RequestMeta,
) -> Result<(), PasskeyError> {
    let name = clean_name(name)?;
    if !store.rename_passkey(user, id, &name)? {
        return Err(PasskeyError::NotFound);
    }
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::PasskeyRenamed, meta)
            .user(user)
            .detail(id.to_owned()),
    )?;
    Ok(())
}

/// Removes one of the user's passkeys, given a sign-in at `auth_time` recent enough
/// ([`may_change`]).
pub fn remove<S: PasskeyStore + AuditStore + FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    user: &UserId,
    id: &str,
    auth_time: UnixTime,
    meta: &RequestMeta,
) -> Result<(), PasskeyError> {
    may_change(store, clock, user, auth_time, None)?;
    if !store.delete_passkey(user, id)? {
        return Err(PasskeyError::NotFound);
    }
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::PasskeyRemoved, meta)
            .user(user)
            .detail(id.to_owned()),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_must_advance_unless_both_are_zero() {
        assert!(counter_advances(0, 0), "synced passkeys send 0 every time");
        assert!(counter_advances(0, 1));
        assert!(counter_advances(4, 5));
        assert!(!counter_advances(5, 5), "a repeated counter");
        assert!(!counter_advances(5, 4), "a counter rolled back");
        assert!(!counter_advances(5, 0), "a counter reset");
    }

    #[test]
    fn the_user_handle_is_stable_per_user() {
        let a = UserId::new("usr_a");
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&UserId::new("usr_b")));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Laptop ").unwrap(), "Laptop");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(65)).is_err());
        assert!(clean_name("a\u{0}b").is_err());
    }

    #[test]
    fn an_ip_address_issuer_has_no_passkeys() {
        assert!(RelyingParty::from_issuer(&"http://127.0.0.1:8080".parse().unwrap()).is_none());
        assert!(RelyingParty::from_issuer(&"http://localhost:8080".parse().unwrap()).is_some());
    }
}
