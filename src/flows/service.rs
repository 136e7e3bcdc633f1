//! Pending sign-ins: started where sign-in is needed, advanced by each method the user
//! completes, and completed into a session, stepping the browser's session up in place when it
//! is the same user's. Blocking (store and argon2): call from `web::block`.

use secrecy::SecretString;

use super::store::FlowStore;
use super::types::{Flow, MethodDone, Requirement, Resume};
use crate::accounts::password::PasswordHasher;
use crate::accounts::signin::{self, SignInError};
use crate::accounts::store::{ThrottleStore, UserStore};
use crate::accounts::throttle::Throttle;
use crate::accounts::types::User;
use crate::audit::{AuditStore, RequestMeta};
use crate::authn::{self, Method};
use crate::clock::{Clock, UnixTime};
use crate::credentials::PlainFlowId;
use crate::crypto;
use crate::federation::policy;
use crate::federation::store::SsoPolicyStore;
use crate::ids::{OrgId, UserId};
use crate::mfa::store::FactorStore;
use crate::mfa::types::Factors;
use crate::sessions::service::{self as sessions, SessionPolicy, SessionSecret};
use crate::sessions::store::SessionStore;
use crate::sessions::types::CurrentSession;
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
    /// Ask who the user is: a password, or a passkey that verifies the user.
    Identify,
    /// Ask for a second factor: a TOTP or recovery code, or a passkey.
    SecondFactor,
    /// An organisation of the user requires a second factor and the user has none: sign in
    /// with what was done, and go to enrol one; the flow waits for it.
    Enrol,
    /// The request asks for an `acr` the user cannot meet (no second factor to ask for): the
    /// authorization endpoint answers `unmet_authentication_requirements`.
    Unmet,
    /// Everything asked is done: resume.
    Done,
}

/// Decides the next step from what the flow holds and, once the flow knows its user, what the
/// user has (`factors`). Pure: the policy and the time are given.
///
/// Methods done in the flow are fresh for the request the flow holds, so `prompt=login` and
/// `max_age` (even 0) are met by them; methods carried over from the session (a step-up flow,
/// [`plan_step_up`]) count only where the request accepts an earlier sign-in. A user with a
/// second factor is always asked for it after a password; one whose organisation requires a
/// second factor enrols one; an `acr` asked for must be met.
pub fn next_step(flow: &Flow, policy: &FlowPolicy, factors: &Factors, now: UnixTime) -> Step {
    if now >= flow.expires_at || flow.attempts >= policy.max_attempts {
        return Step::Restart;
    }
    let done: Vec<Method> = flow.counted(now).iter().map(|m| m.method).collect();
    if flow.user_id.is_none() || !done.iter().any(|m| m.identifies()) {
        return Step::Identify;
    }
    let amr = authn::amr_of(&done);
    let mfa = authn::meets(&amr, authn::ACR_MFA);
    if !mfa && factors.any() {
        return Step::SecondFactor;
    }
    if !mfa && factors.org_requires_mfa {
        return Step::Enrol;
    }
    match &flow.requirement.acr {
        Some(acr) if !authn::meets(&amr, acr) => Step::Unmet,
        _ => Step::Done,
    }
}

/// The factors of the flow's user (none before the flow knows its user).
pub fn factors_of<S: FactorStore>(store: &S, flow: &Flow) -> StoreResult<Factors> {
    match &flow.user_id {
        Some(user) => store.factors(user),
        None => Ok(Factors::default()),
    }
}

/// [`next_step`] with the user's factors read from the store.
pub fn step_of<S: FactorStore>(
    store: &S,
    flow: &Flow,
    policy: &FlowPolicy,
    now: UnixTime,
) -> StoreResult<Step> {
    Ok(next_step(flow, policy, &factors_of(store, flow)?, now))
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
        org_id: None,
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
    begin_in_org(store, clock, requirement, resume, client_addr, None)
}

/// [`begin`] for a sign-in into organisation `org` (the `organization` authorize parameter,
/// an SSO connection's organisation): the session it ends in acts there if the user is a
/// member ([`session_org`]).
pub fn begin_in_org<S: FlowStore>(
    store: &S,
    clock: &dyn Clock,
    requirement: Requirement,
    resume: Resume,
    client_addr: Option<String>,
    org: Option<OrgId>,
) -> StoreResult<PlainFlowId> {
    let (secret, mut flow) = new_flow(requirement, resume, client_addr, clock.now());
    flow.org_id = org;
    store_new(store, &flow)?;
    Ok(secret)
}

/// Keeps an upstream sign-in's sealed ceremony (an OIDC `state` and nonce, a SAML request id)
/// in the browser's live flow `current`, or in a flow begun for `resume` in `org`. `seal` makes
/// the sealed value for the flow it is kept in (bound to that flow's row, so it opens in no
/// other). Returns the cookie value of the flow used.
pub fn keep_ceremony<S: FlowStore>(
    store: &S,
    clock: &dyn Clock,
    current: Option<PlainFlowId>,
    resume: Resume,
    client_addr: Option<String>,
    org: &OrgId,
    seal: impl FnOnce(&Flow) -> String,
) -> StoreResult<PlainFlowId> {
    let now = clock.now();
    let live = match current {
        Some(secret) => store
            .find_flow(&secret.hash())?
            .filter(|f| now < f.expires_at)
            .map(|f| (secret, f)),
        None => None,
    };
    let (secret, mut flow) = match live {
        Some(found) => found,
        None => {
            let secret = begin_in_org(
                store,
                clock,
                Requirement::default(),
                resume,
                client_addr,
                Some(org.clone()),
            )?;
            match store.find_flow(&secret.hash())? {
                Some(f) => (secret, f),
                None => return Err(crate::store::StoreError::NotFound),
            }
        }
    };
    flow.ceremony = Some(seal(&flow));
    store.update_flow(&flow)?;
    Ok(secret)
}

/// The organisation a new session of `user` acts in: the one the sign-in was for when the user
/// is a member of it, else their only organisation; with several (or none), none yet: the
/// organisation picker asks.
pub fn session_org<S: UserStore>(
    store: &S,
    user: &UserId,
    asked: Option<&OrgId>,
) -> StoreResult<Option<OrgId>> {
    let memberships = store.memberships(user)?;
    if let Some(asked) = asked
        && memberships.iter().any(|m| m.org.id == *asked)
    {
        return Ok(Some(asked.clone()));
    }
    Ok(match memberships.as_slice() {
        [only] => Some(only.org.id.clone()),
        _ => None,
    })
}

/// Stores a flow begun by this request, bounded per address ([`MAX_FLOWS_PER_ADDRESS`]).
fn store_new<S: FlowStore>(store: &S, flow: &Flow) -> StoreResult<()> {
    if let Some(addr) = &flow.client_addr {
        store.trim_flows(addr, MAX_FLOWS_PER_ADDRESS - 1)?;
    }
    store.insert_flow(flow)
}

/// A step-up of a signed-in user's session, decided but not stored yet: a flow that knows its
/// user and carries the session's methods ([`methods_of_amr`], done at its `auth_time`), so that
/// only what the request adds is asked (a second factor for an `acr`; everything again for
/// `prompt=login` or a `max_age` the session is older than). What it asks first, `step`, is
/// known before anything is written, so a request that may not interact (`prompt=none`) or
/// cannot be met is answered at once.
#[derive(Debug)]
pub struct StepUp {
    pub step: Step,
    secret: PlainFlowId,
    flow: Flow,
}

/// Plans a step-up of `user`'s session, whose methods are `session_methods`, for `requirement`.
pub fn plan_step_up(
    requirement: Requirement,
    user: &UserId,
    session_methods: Vec<MethodDone>,
    factors: &Factors,
    now: UnixTime,
) -> StepUp {
    let (secret, mut flow) = new_flow(requirement, Resume::Page(String::new()), None, now);
    flow.user_id = Some(user.clone());
    flow.methods = session_methods;
    let step = next_step(&flow, &FlowPolicy::default(), factors, now);
    StepUp { step, secret, flow }
}

impl StepUp {
    /// Stores the flow, to resume `resume`, begun from `client_addr`; returns its cookie value.
    pub fn begin<S: FlowStore>(
        self,
        store: &S,
        resume: Resume,
        client_addr: Option<String>,
    ) -> StoreResult<PlainFlowId> {
        let StepUp {
            secret, mut flow, ..
        } = self;
        flow.resume = resume;
        flow.client_addr = client_addr;
        store_new(store, &flow)?;
        Ok(secret)
    }
}

/// Begins a step-up of the signed-in session `current` for `requirement` ([`plan_step_up`] with
/// the session's methods and the user's factors) and says what it asks first: for pages that
/// must not act for a session short of the organisation MFA requirement (the device approval).
pub fn step_up_session<S: FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    requirement: Requirement,
    resume: Resume,
    client_addr: Option<String>,
    current: &CurrentSession,
) -> StoreResult<(PlainFlowId, Step)> {
    let methods = methods_of_amr(&current.session.amr, current.session.auth_time);
    let factors = store.factors(&current.user.id)?;
    let plan = plan_step_up(
        requirement,
        &current.user.id,
        methods,
        &factors,
        clock.now(),
    );
    let step = plan.step;
    Ok((plan.begin(store, resume, client_addr)?, step))
}

/// The methods a session's `amr` stands for, done at its `auth_time` (for [`plan_step_up`]).
/// A passkey's `user` verification is kept; `mfa` and unknown values add nothing.
pub fn methods_of_amr(amr: &[String], auth_time: UnixTime) -> Vec<MethodDone> {
    let has = |v: &str| amr.iter().any(|a| a == v);
    let mut methods = Vec::new();
    if has("pwd") {
        methods.push(Method::Password);
    }
    if has("fed") {
        methods.push(Method::Federated);
    }
    if has("otp") {
        methods.push(Method::Totp);
    }
    if has("hwk") || has("swk") {
        methods.push(Method::Passkey {
            verified: has("user"),
            hardware: has("hwk"),
        });
    }
    methods
        .into_iter()
        .map(|method| MethodDone {
            method,
            at: auth_time,
            carried: true,
        })
        .collect()
}

/// A password submitted from the sign-in page.
pub struct PasswordStep {
    /// Username or e-mail address, as typed.
    pub login: String,
    pub password: SecretString,
    /// The flow the browser's cookie names, if the page continues one.
    pub flow: Option<PlainFlowId>,
    /// Without a live flow: the page to go back to (a flow begun here).
    pub fallback: Resume,
    /// The session cookie the browser already had, if any.
    pub previous: Option<SessionSecret>,
    /// Where the request came from, for a flow begun here ([`MAX_FLOWS_PER_ADDRESS`]).
    pub client_addr: Option<String>,
}

/// A completed sign-in: the session's (new) cookie value and what to resume.
#[derive(Debug)]
pub struct Completed {
    pub session: SessionSecret,
    pub resume: Resume,
    /// The session was stepped up in place (same `sid`), not started.
    pub stepped_up: bool,
    /// A new session of a user in several organisations, none of them the sign-in's: the
    /// organisation picker asks before a page is resumed (an authorization request asks
    /// itself, unless its client settles the organisation).
    pub choose_org: bool,
}

/// Where a method done leaves the sign-in.
#[derive(Debug)]
pub enum Outcome {
    /// Signed in: set the session cookie and resume (an authorization request resumes at the
    /// authorization endpoint, which takes the flow, and which answers an unmet `acr`).
    SignedIn(Completed),
    /// Signed in with what was done, but a second factor must be enrolled first: set the
    /// session cookie and go to enrol; the flow waits (its cookie, `flow`, when begun here).
    Enrol {
        completed: Completed,
        flow: Option<PlainFlowId>,
    },
    /// A second factor is needed: go to the factor page (with the flow's cookie, `flow`, when
    /// the flow was begun here).
    SecondFactor { flow: Option<PlainFlowId> },
}

/// Checks the password ([`signin::sign_in`]: throttle, audit) within the flow; a failure
/// counts towards the flow's attempts. Then see [`record`].
#[allow(clippy::too_many_arguments)]
pub fn submit_password<
    S: UserStore
        + AuditStore
        + ThrottleStore
        + SessionStore
        + FlowStore
        + FactorStore
        + SsoPolicyStore,
>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    throttle: &Throttle,
    session_policy: SessionPolicy,
    policy: &FlowPolicy,
    input: PasswordStep,
    meta: &RequestMeta,
) -> Result<Outcome, SignInError> {
    let now = clock.now();
    let stored = match &input.flow {
        Some(secret) => match store.find_flow(&secret.hash())? {
            Some(f) if step_of(store, &f, policy, now)? != Step::Restart => Some(f),
            _ => None,
        },
        None => None,
    };
    let (fresh_secret, flow) = match stored {
        Some(flow) => (None, flow),
        None => {
            let (secret, flow) = new_flow(
                Requirement::default(),
                input.fallback,
                input.client_addr,
                now,
            );
            (Some(secret), flow)
        }
    };
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
            if fresh_secret.is_none() && matches!(e, SignInError::Invalid) {
                store.add_attempt(&flow.id_hash)?;
            }
            return Err(e);
        }
    };
    // The one place a password becomes a sign-in method: an organisation's SSO requirement
    // is enforced here (owners pass, audited as break-glass).
    if let Err(org) = policy::password_sign_in(store, clock, &user, meta)? {
        return Err(SignInError::SsoRequired { org });
    }
    Ok(record(
        store,
        clock,
        session_policy,
        policy,
        Progress {
            flow,
            fresh: fresh_secret,
        },
        &user,
        Method::Password,
        input.previous,
        meta,
    )?)
}

/// A flow being advanced: stored, or begun by this request (`fresh`: its cookie value, the flow
/// not stored yet).
pub struct Progress {
    pub flow: Flow,
    pub fresh: Option<PlainFlowId>,
}

/// The flow the cookie names, when it waits for a second factor of its user: what a factor
/// page checks a code or an assertion against. `None` when there is no such flow (gone,
/// expired, out of attempts, or at another step).
pub fn awaiting_factor<S: FlowStore + FactorStore + UserStore>(
    store: &S,
    clock: &dyn Clock,
    policy: &FlowPolicy,
    secret: &PlainFlowId,
) -> StoreResult<Option<(Flow, User, Factors)>> {
    let Some(flow) = store.find_flow(&secret.hash())? else {
        return Ok(None);
    };
    let factors = factors_of(store, &flow)?;
    if next_step(&flow, policy, &factors, clock.now()) != Step::SecondFactor {
        return Ok(None);
    }
    let Some(user_id) = &flow.user_id else {
        return Ok(None);
    };
    match store.find_user(user_id)? {
        Some(user) if !user.disabled => Ok(Some((flow, user, factors))),
        _ => Ok(None),
    }
}

/// The flow the cookie names, when it waits for `user` to enrol a second factor (an
/// organisation requires one, [`Step::Enrol`]): what an enrolment confirmed on the security
/// page completes, recording the new factor as done. `None` otherwise.
pub fn awaiting_enrolment<S: FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    policy: &FlowPolicy,
    secret: &PlainFlowId,
    user: &UserId,
) -> StoreResult<Option<Flow>> {
    let Some(flow) = store.find_flow(&secret.hash())? else {
        return Ok(None);
    };
    if flow.user_id.as_ref() != Some(user) {
        return Ok(None);
    }
    Ok((step_of(store, &flow, policy, clock.now())? == Step::Enrol).then_some(flow))
}

/// Counts a failed factor (a wrong code or assertion) in the flow.
pub fn count_failure<S: FlowStore>(store: &S, flow: &mut Flow) -> StoreResult<()> {
    flow.attempts += 1;
    store.add_attempt(&flow.id_hash)
}

/// Records `method`, just done by `user`, in the flow, and goes on from there: the user is
/// signed in (or their session stepped up, [`complete`]) when nothing is left to ask, or once
/// identified when a second factor must be enrolled; otherwise the flow is stored for the next
/// factor. A flow resuming a page is taken when done; one resuming an authorization request is
/// left for the authorization endpoint to take.
#[allow(clippy::too_many_arguments)]
pub fn record<S: SessionStore + AuditStore + FlowStore + FactorStore + UserStore>(
    store: &S,
    clock: &dyn Clock,
    session_policy: SessionPolicy,
    policy: &FlowPolicy,
    progress: Progress,
    user: &User,
    method: Method,
    previous: Option<SessionSecret>,
    meta: &RequestMeta,
) -> StoreResult<Outcome> {
    let now = clock.now();
    let Progress { mut flow, fresh } = progress;
    if flow.user_id.as_ref().is_some_and(|id| *id != user.id) {
        // Another user took over the flow: what was done was someone else's.
        flow.methods.clear();
    }
    if flow.methods.iter().any(|m| m.carried)
        && !is_live_session_of(store, session_policy, previous.as_ref(), user, now)?
    {
        // Methods carried from a session (a step-up) are that session's: once it has ended
        // (signed out, expired) or the browser holds another one, they prove nothing, and a
        // second factor alone must not turn them back into a sign-in.
        flow.methods.retain(|m| !m.carried);
    }
    flow.user_id = Some(user.id.clone());
    flow.methods.push(MethodDone {
        method,
        at: now,
        carried: false,
    });
    let save = |flow: &Flow| match fresh {
        Some(_) => store_new(store, flow),
        None => store.update_flow(flow),
    };
    match step_of(store, &flow, policy, now)? {
        Step::SecondFactor | Step::Identify => {
            save(&flow)?;
            Ok(Outcome::SecondFactor { flow: fresh })
        }
        Step::Enrol => {
            save(&flow)?;
            let completed = complete(store, clock, session_policy, &flow, user, previous, meta)?;
            Ok(Outcome::Enrol {
                completed,
                flow: fresh,
            })
        }
        Step::Done | Step::Unmet | Step::Restart => {
            match &flow.resume {
                // The authorization endpoint (or the SAML SSO service) takes the flow when it
                // resumes.
                Resume::Authorize(_) | Resume::Saml(_) => save(&flow)?,
                Resume::Page(_) => {
                    if fresh.is_none() {
                        store.take_flow(&flow.id_hash)?;
                    }
                }
            }
            let completed = complete(store, clock, session_policy, &flow, user, previous, meta)?;
            Ok(Outcome::SignedIn(completed))
        }
    }
}

/// Whether the browser's session cookie `previous` names a live session of `user`.
fn is_live_session_of<S: SessionStore>(
    store: &S,
    policy: SessionPolicy,
    previous: Option<&SessionSecret>,
    user: &User,
    now: UnixTime,
) -> StoreResult<bool> {
    let Some(previous) = previous else {
        return Ok(false);
    };
    Ok(store
        .find_session(&previous.hash())?
        .is_some_and(|c| c.user.id == user.id && !c.user.disabled && policy.is_live(&c, now)))
}

/// Gives the browser a session for the flow's user: the same user's live session is stepped
/// up in place (new cookie value against fixation, the same `sid`, so grants bound to it live
/// on; `amr` and `auth_time` from this flow); any other session is ended (with its grants, as
/// sign-out does) and a new one started.
pub fn complete<S: SessionStore + AuditStore + UserStore>(
    store: &S,
    clock: &dyn Clock,
    policy: SessionPolicy,
    flow: &Flow,
    user: &User,
    previous: Option<SessionSecret>,
    meta: &RequestMeta,
) -> StoreResult<Completed> {
    let now = clock.now();
    let amr = flow.amr(now);
    let auth_time = flow.last_done_at(now).unwrap_or(now);
    if let Some(previous) = previous {
        let current = store.find_session(&previous.hash())?;
        match current {
            Some(c) if c.user.id == user.id && policy.is_live(&c, now) => {
                let secret = SessionSecret::new(crypto::random_token());
                let stepped = store.step_up_session(
                    &c.session.id_hash,
                    &secret.hash(),
                    &amr,
                    auth_time,
                    now,
                )?;
                if let Some(stepped) = stepped {
                    // A step-up keeps the session's organisation; one that has none yet takes
                    // the sign-in's.
                    if stepped.org_id.is_none()
                        && let Some(org) = session_org(store, &user.id, flow.org_id.as_ref())?
                    {
                        store.set_session_org(&secret.hash(), Some(&org))?;
                    }
                    return Ok(Completed {
                        session: secret,
                        resume: flow.resume.clone(),
                        stepped_up: true,
                        choose_org: false,
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
    let org = session_org(store, &user.id, flow.org_id.as_ref())?;
    let choose_org = org.is_none() && store.memberships(&user.id)?.len() > 1;
    let (secret, _) = sessions::start(store, clock, policy, user, &amr, org, meta)?;
    Ok(Completed {
        session: secret,
        resume: flow.resume.clone(),
        stepped_up: false,
        choose_org,
    })
}

/// What the authorization endpoint finds when it comes back for its flow.
#[derive(Debug, PartialEq, Eq)]
pub enum Pending {
    /// Done by this user: taken (single use). The flow comes whole, so a caller that must hold
    /// it longer (the consent page of a `prompt=login` request) can [`put_back`] it.
    Ready(Box<Flow>),
    /// Still waiting for the user to sign in (or to enrol a second factor).
    NotYet,
    /// Done by this user, but the `acr` asked for cannot be met: taken; the request is answered
    /// `unmet_authentication_requirements`.
    Unmet(Box<Flow>),
    /// No such flow, expired, or done by another user than the session's.
    Gone,
}

/// Takes a completed flow for the signed-in `user`. A flow not done yet stays.
pub fn take_done<S: FlowStore + FactorStore>(
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
    let step = step_of(store, &flow, policy, now)?;
    match step {
        Step::Identify | Step::SecondFactor | Step::Enrol => Ok(Pending::NotYet),
        Step::Restart => {
            store.take_flow(&flow.id_hash)?;
            Ok(Pending::Gone)
        }
        // Another user's flow is left alone (its own user may still resume it); the user is
        // checked again on the row taken, which a concurrent sign-in may have changed.
        Step::Done | Step::Unmet if flow.user_id.as_ref() != Some(user) => Ok(Pending::Gone),
        Step::Done | Step::Unmet => match store.take_flow(&flow.id_hash)? {
            Some(taken) if taken.user_id.as_ref() == Some(user) => Ok(if step == Step::Done {
                Pending::Ready(Box::new(taken))
            } else {
                Pending::Unmet(Box::new(taken))
            }),
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
