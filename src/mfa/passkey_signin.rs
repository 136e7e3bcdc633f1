//! Signing in with a passkey (see [`super::passkeys`]): usernameless, in the sign-in page's flow
//! or one begun for it, and as the second factor of a flow that waits for one. The ceremony's
//! state is sealed in the flow and used once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PublicKeyCredential, SecurityKeyAuthentication,
};

use super::passkeys::{
    CEREMONY_TTL, PasskeyError, RelyingParty, counter_advances, json, refused, security_key,
    user_handle,
};
use super::store::PasskeyStore;
use crate::accounts::store::UserStore;
use crate::accounts::types::User;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::authn::Method;
use crate::clock::{Clock, UnixTime};
use crate::credentials::PlainFlowId;
use crate::flows::service::{
    self as flows, FlowPolicy, Outcome, Progress, Step, awaiting_factor, count_failure,
};
use crate::flows::store::FlowStore;
use crate::flows::types::{Flow, Requirement, Resume};
use crate::ids::UserId;
use crate::mfa::store::FactorStore;
use crate::secrets::SecretBox;
use crate::sessions::service::{SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::store::StoreError;

fn ceremony_row(flow: &Flow) -> String {
    format!("passkey-ceremony|{}", flow.id_hash.as_str())
}

/// An authentication in progress, sealed in the flow.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Ceremony {
    /// Usernameless: any discoverable credential, user verification required.
    Discoverable {
        at: UnixTime,
        state: DiscoverableAuthentication,
    },
    /// The second factor of the flow's user: one of their credentials.
    SecondFactor {
        at: UnixTime,
        user: UserId,
        state: SecurityKeyAuthentication,
    },
}

fn seal_ceremony<S: FlowStore>(
    store: &S,
    secrets: &SecretBox,
    flow: &mut Flow,
    ceremony: &Ceremony,
) -> Result<(), PasskeyError> {
    let plain = serde_json::to_vec(ceremony).map_err(|e| StoreError::Backend(e.to_string()))?;
    flow.ceremony = Some(secrets.seal(&ceremony_row(flow), &plain));
    store.update_flow(flow)?;
    Ok(())
}

/// The options for `navigator.credentials.get()`, without the `mediation` the page chooses.
fn request_options<T: Serialize>(rcr: &T) -> Result<Value, PasskeyError> {
    let mut options = json(rcr)?;
    if let Some(o) = options.as_object_mut() {
        o.remove("mediation");
    }
    if let Some(pk) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
        pk.remove("hints");
    }
    Ok(options)
}

/// A passwordless sign-in begun: the options for the browser, and the flow's cookie value when
/// the flow was begun here.
pub struct Begun {
    pub options: Value,
    pub fresh: Option<PlainFlowId>,
}

/// Starts a usernameless sign-in in the flow `flow` names (when it is live and resumes an
/// authorization request or `fallback` itself), or in a flow begun here that resumes
/// `fallback`. A page's flow left by an earlier sign-in page (autofill begins one on opening)
/// is not reused for another page: the sign-in goes where this page says.
#[allow(clippy::too_many_arguments)]
pub fn begin_sign_in<S: FlowStore + FactorStore>(
    store: &S,
    rp: &RelyingParty,
    secrets: &SecretBox,
    clock: &dyn Clock,
    policy: &FlowPolicy,
    flow: Option<PlainFlowId>,
    fallback: Resume,
    client_addr: Option<String>,
) -> Result<Begun, PasskeyError> {
    let now = clock.now();
    let live = match &flow {
        Some(secret) => match store.find_flow(&secret.hash())? {
            Some(f)
                if (matches!(f.resume, Resume::Authorize(_) | Resume::Saml(_))
                    || f.resume == fallback)
                    && flows::step_of(store, &f, policy, now)? != Step::Restart =>
            {
                Some(f)
            }
            _ => None,
        },
        None => None,
    };
    let (mut flow, fresh) = match live {
        Some(f) => (f, None),
        None => {
            let secret = flows::begin(store, clock, Requirement::default(), fallback, client_addr)?;
            let f = store
                .find_flow(&secret.hash())?
                .ok_or(PasskeyError::NoCeremony)?;
            (f, Some(secret))
        }
    };
    let (rcr, state) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(refused)?;
    seal_ceremony(
        store,
        secrets,
        &mut flow,
        &Ceremony::Discoverable { at: now, state },
    )?;
    Ok(Begun {
        options: request_options(&rcr)?,
        fresh,
    })
}

/// Starts a passkey second factor for the user the flow waits for.
pub fn begin_second_factor<S: FlowStore + FactorStore + UserStore + PasskeyStore>(
    store: &S,
    rp: &RelyingParty,
    secrets: &SecretBox,
    clock: &dyn Clock,
    policy: &FlowPolicy,
    flow: &PlainFlowId,
) -> Result<Value, PasskeyError> {
    let Some((mut flow, user, _)) = awaiting_factor(store, clock, policy, flow)? else {
        return Err(PasskeyError::NoCeremony);
    };
    let keys = store
        .passkeys_of(&user.id)?
        .iter()
        .map(security_key)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(PasskeyError::Unknown);
    }
    let (rcr, state) = rp
        .webauthn
        .start_securitykey_authentication(&keys)
        .map_err(refused)?;
    let ceremony = Ceremony::SecondFactor {
        at: clock.now(),
        user: user.id.clone(),
        state,
    };
    seal_ceremony(store, secrets, &mut flow, &ceremony)?;
    request_options(&rcr)
}

/// What finishing a passkey sign-in needs beside the stores.
pub struct Finish<'a> {
    pub rp: &'a RelyingParty,
    pub secrets: &'a SecretBox,
    pub clock: &'a dyn Clock,
    pub session_policy: SessionPolicy,
    pub policy: &'a FlowPolicy,
    /// The flow the browser's cookie names.
    pub flow: &'a PlainFlowId,
    /// `navigator.credentials.get()`'s answer as JSON.
    pub response: &'a str,
    /// The session cookie the browser already had, if any.
    pub previous: Option<SessionSecret>,
}

/// Finishes a passwordless sign-in: the assertion must answer the challenge sealed in this flow,
/// with a discoverable credential registered here, the user verified. Then the flow goes on
/// ([`flows::record`]). A failure counts towards the flow's attempts and is audited.
pub fn finish_sign_in<S>(
    store: &S,
    input: Finish<'_>,
    meta: &RequestMeta,
) -> Result<Outcome, PasskeyError>
where
    S: FlowStore + FactorStore + UserStore + PasskeyStore + SessionStore + AuditStore,
{
    let now = input.clock.now();
    let Some(flow) = store.find_flow(&input.flow.hash())? else {
        return Err(PasskeyError::NoCeremony);
    };
    if flows::step_of(store, &flow, input.policy, now)? == Step::Restart {
        return Err(PasskeyError::NoCeremony);
    }
    finish_in(store, &input, flow, None, meta)
}

/// Finishes a passkey second factor of the user the flow waits for.
pub fn finish_second_factor<S>(
    store: &S,
    input: Finish<'_>,
    meta: &RequestMeta,
) -> Result<Outcome, PasskeyError>
where
    S: FlowStore + FactorStore + UserStore + PasskeyStore + SessionStore + AuditStore,
{
    let Some((flow, user, _)) = awaiting_factor(store, input.clock, input.policy, input.flow)?
    else {
        return Err(PasskeyError::NoCeremony);
    };
    finish_in(store, &input, flow, Some(user), meta)
}

fn finish_in<S>(
    store: &S,
    input: &Finish<'_>,
    mut flow: Flow,
    expected: Option<User>,
    meta: &RequestMeta,
) -> Result<Outcome, PasskeyError>
where
    S: FlowStore + FactorStore + UserStore + PasskeyStore + SessionStore + AuditStore,
{
    let now = input.clock.now();
    let checked = verify(store, input, &mut flow, expected.as_ref());
    let (user, method) = match checked {
        Ok(done) => done,
        Err(e) => {
            if !matches!(e, PasskeyError::Store(_)) {
                let kind = if matches!(e, PasskeyError::CounterRollback) {
                    AuditKind::PasskeyCounterAnomaly
                } else {
                    AuditKind::PasskeySignInFailed
                };
                let mut event = AuditEvent::new(now, kind, meta).detail(format!("{e:?}"));
                if let Some(user) = expected.as_ref().map(|u| &u.id).or(flow.user_id.as_ref()) {
                    event = event.user(user);
                }
                store.record_event(&event)?;
                count_failure(store, &mut flow)?;
            }
            return Err(e);
        }
    };
    store.record_event(
        &AuditEvent::new(now, AuditKind::PasskeySignInSucceeded, meta).user(&user.id),
    )?;
    Ok(flows::record(
        store,
        input.clock,
        input.session_policy,
        input.policy,
        Progress { flow, fresh: None },
        &user,
        method,
        input.previous.clone(),
        meta,
    )?)
}

/// Checks the assertion; on success the stored counter has moved forwards.
fn verify<S: FlowStore + UserStore + PasskeyStore + AuditStore>(
    store: &S,
    input: &Finish<'_>,
    flow: &mut Flow,
    expected: Option<&User>,
) -> Result<(User, Method), PasskeyError> {
    let now = input.clock.now();
    // Single use: whoever clears the challenge checks it; a second answer finds none.
    let sealed = flow.ceremony.take().ok_or(PasskeyError::NoCeremony)?;
    if !store.clear_ceremony(&flow.id_hash, &sealed)? {
        return Err(PasskeyError::NoCeremony);
    }
    let plain = input
        .secrets
        .open(&ceremony_row(flow), &sealed)
        .map_err(|_| PasskeyError::NoCeremony)?;
    let ceremony: Ceremony =
        serde_json::from_slice(&plain).map_err(|_| PasskeyError::NoCeremony)?;
    let response: PublicKeyCredential =
        serde_json::from_str(input.response).map_err(|_| PasskeyError::Malformed)?;
    let credential_id = URL_SAFE_NO_PAD.encode(response.get_credential_id());
    let stored = store
        .passkey_by_credential(&credential_id)?
        .ok_or(PasskeyError::Unknown)?;
    let user = match store.find_user(&stored.user_id)? {
        Some(user) if !user.disabled => user,
        _ => return Err(PasskeyError::Refused),
    };
    let mut key = security_key(&stored)?;
    let result = match ceremony {
        Ceremony::Discoverable { at, state } => {
            if expected.is_some() || now - at > CEREMONY_TTL {
                return Err(PasskeyError::NoCeremony);
            }
            let (handle, _) = input
                .rp
                .webauthn
                .identify_discoverable_authentication(&response)
                .map_err(|_| PasskeyError::Malformed)?;
            if handle != user_handle(&stored.user_id) {
                return Err(PasskeyError::Refused);
            }
            input
                .rp
                .webauthn
                .finish_discoverable_authentication_v2(&response, state, &key)
        }
        Ceremony::SecondFactor { at, user, state } => {
            if expected.is_none_or(|u| u.id != user) || now - at > CEREMONY_TTL {
                return Err(PasskeyError::NoCeremony);
            }
            if stored.user_id != user {
                return Err(PasskeyError::Unknown);
            }
            input
                .rp
                .webauthn
                .finish_securitykey_authentication(&response, &state)
        }
    }
    .map_err(refused)?;
    let counter = i64::from(result.counter());
    if !counter_advances(stored.sign_count, counter) {
        return Err(PasskeyError::CounterRollback);
    }
    key.update_credential(&result);
    if !store.use_passkey(&stored.id, &json(&key)?.to_string(), counter, now)? {
        // Another sign-in with this passkey moved the counter past this one meanwhile.
        return Err(PasskeyError::CounterRollback);
    }
    Ok((
        user,
        Method::Passkey {
            verified: result.user_verified(),
            hardware: false,
        },
    ))
}
