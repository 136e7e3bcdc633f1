//! Pending sign-ins: started where sign-in is needed, advanced by each method the user
//! completes, and completed into a session, stepping the browser's session up in place when it
//! is the same user's. Blocking (store and argon2): call from `web::block`.

use secrecy::SecretString;

use super::store::FlowStore;
use super::types::{Flow, Method, MethodDone, Requirement, Resume};
use crate::accounts::password::PasswordHasher;
use crate::accounts::signin::{self, SignInError};
use crate::accounts::store::{ThrottleStore, UserStore};
use crate::accounts::throttle::Throttle;
use crate::accounts::types::User;
use crate::audit::{AuditStore, RequestMeta};
use crate::clock::{Clock, UnixTime};
use crate::credentials::PlainFlowId;
use crate::crypto;
use crate::ids::UserId;
use crate::sessions::service::{self as sessions, SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::store::StoreResult;

/// How long a pending sign-in lives (and its cookie).
pub const FLOW_TTL: i64 = 600;

/// How many pending sign-ins one address keeps: beginning another drops its oldest. A signed-out
/// visitor's authorization request writes a row, so rows per address are bounded (across
/// instances, give or take a race) without ever refusing a sign-in.
pub const MAX_FLOWS_PER_ADDRESS: usize = 50;

/// The flow's limits.
#[derive(Debug, Clone, Copy)]
pub struct FlowPolicy {
    /// Failed attempts after which the flow ends (the throttle still counts per account).
    pub max_attempts: i32,
}

impl Default for FlowPolicy {
    fn default() -> Self {
        Self { max_attempts: 10 }
    }
}

/// What the flow needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Expired or out of attempts: start again from what sent the user here.
    Restart,
    /// Ask for the password (which also says who the user is).
    Password,
    /// Everything asked is done: resume.
    Done,
}

/// Decides the next step from what the flow holds. Pure: the policy and the time are given.
/// Methods done in the flow are fresh for the request the flow holds, so `prompt=login` and
/// `max_age` (even 0) are met by them; what the flow asks for is only ever what it still lacks.
pub fn next_step(flow: &Flow, policy: &FlowPolicy, now: UnixTime) -> Step {
    if now >= flow.expires_at || flow.attempts >= policy.max_attempts {
        return Step::Restart;
    }
    let identified = flow.user_id.is_some();
    let fresh_password = flow
        .methods
        .iter()
        .any(|m| m.method == Method::Password.as_str() && m.at >= flow.created_at);
    if identified && fresh_password {
        Step::Done
    } else {
        Step::Password
    }
}

fn new_flow(
    requirement: Requirement,
    resume: Resume,
    client_addr: Option<String>,
    now: UnixTime,
) -> (PlainFlowId, Flow) {
    let secret = PlainFlowId::new(crypto::random_token());
    let flow = Flow {
        id_hash: secret.hash(),
        user_id: None,
        methods: Vec::new(),
        requirement,
        resume,
        created_at: now,
        expires_at: now + FLOW_TTL,
        attempts: 0,
        ceremony: None,
        client_addr,
    };
    (secret, flow)
}

/// Starts a pending sign-in from `client_addr` (see [`MAX_FLOWS_PER_ADDRESS`]); returns the
/// cookie value naming it.
pub fn begin<S: FlowStore>(
    store: &S,
    clock: &dyn Clock,
    requirement: Requirement,
    resume: Resume,
    client_addr: Option<String>,
) -> StoreResult<PlainFlowId> {
    if let Some(addr) = &client_addr {
        store.trim_flows(addr, MAX_FLOWS_PER_ADDRESS - 1)?;
    }
    let (secret, flow) = new_flow(requirement, resume, client_addr, clock.now());
    store.insert_flow(&flow)?;
    Ok(secret)
}

/// A password submitted from the sign-in page.
pub struct PasswordStep {
    /// Username or e-mail address, as typed.
    pub login: String,
    pub password: SecretString,
    /// The flow the browser's cookie names, if the page continues one.
    pub flow: Option<PlainFlowId>,
    /// Without a live flow: the page to go back to (a flow begun and completed here).
    pub fallback: Resume,
    /// The session cookie the browser already had, if any.
    pub previous: Option<SessionSecret>,
}

/// A completed sign-in: the session's (new) cookie value and what to resume.
#[derive(Debug)]
pub struct Completed {
    pub session: SessionSecret,
    pub resume: Resume,
    /// The session was stepped up in place (same `sid`), not started.
    pub stepped_up: bool,
}

/// Checks the password ([`signin::sign_in`]: throttle, audit) within the flow; a failure
/// counts towards the flow's attempts. When the flow is done, completes it: see [`complete`].
#[allow(clippy::too_many_arguments)]
pub fn submit_password<S: UserStore + AuditStore + ThrottleStore + SessionStore + FlowStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    throttle: &Throttle,
    session_policy: SessionPolicy,
    policy: &FlowPolicy,
    input: PasswordStep,
    meta: &RequestMeta,
) -> Result<Completed, SignInError> {
    let now = clock.now();
    let stored = match &input.flow {
        Some(secret) => store
            .find_flow(&secret.hash())?
            .filter(|f| next_step(f, policy, now) != Step::Restart),
        None => None,
    };
    let persisted = stored.is_some();
    let mut flow =
        stored.unwrap_or_else(|| new_flow(Requirement::default(), input.fallback, None, now).1);
    let user = match signin::sign_in(
        store,
        hasher,
        clock,
        throttle,
        &input.login,
        &input.password,
        meta,
    ) {
        Ok(user) => user,
        Err(e) => {
            if persisted && matches!(e, SignInError::Invalid) {
                flow.attempts += 1;
                store.update_flow(&flow)?;
            }
            return Err(e);
        }
    };
    if flow.user_id.as_ref().is_some_and(|id| *id != user.id) {
        // Another user took over the flow: what was done was someone else's.
        flow.methods.clear();
    }
    flow.user_id = Some(user.id.clone());
    flow.methods.push(MethodDone {
        method: Method::Password.as_str().to_owned(),
        at: now,
    });
    if persisted {
        match &flow.resume {
            // The authorization endpoint takes the flow when it resumes.
            Resume::Authorize(_) => store.update_flow(&flow)?,
            Resume::Page(_) => {
                store.take_flow(&flow.id_hash)?;
            }
        }
    }
    Ok(complete(
        store,
        clock,
        session_policy,
        &flow,
        &user,
        input.previous,
        meta,
    )?)
}

/// Gives the browser a session for the flow's user: the same user's live session is stepped
/// up in place (new cookie value against fixation, the same `sid`, so grants bound to it live
/// on; `amr` and `auth_time` from this flow); any other session is ended (with its grants, as
/// sign-out does) and a new one started.
pub fn complete<S: SessionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
    flow: &Flow,
    user: &User,
    previous: Option<SessionSecret>,
    meta: &RequestMeta,
) -> StoreResult<Completed> {
    let now = clock.now();
    let amr = flow.amr();
    let auth_time = flow.last_done_at().unwrap_or(now);
    if let Some(previous) = previous {
        let current = store.find_session(&previous.hash())?;
        match current {
            Some(c) if c.user.id == user.id && policy.is_live(&c.session, now) => {
                let secret = SessionSecret::new(crypto::random_token());
                let stepped = store.step_up_session(
                    &c.session.id_hash,
                    &secret.hash(),
                    &amr,
                    auth_time,
                    now,
                )?;
                if stepped.is_some() {
                    return Ok(Completed {
                        session: secret,
                        resume: flow.resume.clone(),
                        stepped_up: true,
                    });
                }
            }
            Some(c) => {
                store.delete_session(&c.session.id_hash, now)?;
            }
            None => {}
        }
    }
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    let (secret, _) = sessions::start(store, clock, policy, user, &amr, meta)?;
    Ok(Completed {
        session: secret,
        resume: flow.resume.clone(),
        stepped_up: false,
    })
}

/// What the authorization endpoint finds when it comes back for its flow.
#[derive(Debug, PartialEq, Eq)]
pub enum Pending {
    /// Done by this user: taken (single use). The flow comes whole, so a caller that must hold
    /// it longer (the consent page of a `prompt=login` request) can [`put_back`] it.
    Ready(Box<Flow>),
    /// Still waiting for the user to sign in.
    NotYet,
    /// No such flow, expired, or done by another user than the session's.
    Gone,
}

/// Takes a completed flow for the signed-in `user`. A flow not done yet stays.
pub fn take_done<S: FlowStore>(
    store: &S,
    clock: &dyn Clock,
    policy: &FlowPolicy,
    secret: &PlainFlowId,
    user: &UserId,
) -> StoreResult<Pending> {
    let now = clock.now();
    let Some(flow) = store.find_flow(&secret.hash())? else {
        return Ok(Pending::Gone);
    };
    match next_step(&flow, policy, now) {
        Step::Password => Ok(Pending::NotYet),
        Step::Restart => {
            store.take_flow(&flow.id_hash)?;
            Ok(Pending::Gone)
        }
        // Another user's flow is left alone (its own user may still resume it); the user is
        // checked again on the row taken, which a concurrent sign-in may have changed.
        Step::Done if flow.user_id.as_ref() != Some(user) => Ok(Pending::Gone),
        Step::Done => match store.take_flow(&flow.id_hash)? {
            Some(taken) if taken.user_id.as_ref() == Some(user) => {
                Ok(Pending::Ready(Box::new(taken)))
            }
            _ => Ok(Pending::Gone),
        },
    }
}

/// Stores a flow taken by [`take_done`] again, unchanged, for a next step that needs it once
/// more: the consent answer of a request the user signed in for takes it again, which is how
/// the answer proves that sign-in (and, being single use, proves it once).
pub fn put_back<S: FlowStore>(store: &S, flow: &Flow) -> StoreResult<()> {
    store.insert_flow(flow)
}

/// Deletes expired flows; run periodically in the background.
pub fn prune<S: FlowStore>(store: &S, clock: &dyn Clock) -> StoreResult<usize> {
    store.prune_flows(clock.now())
}
