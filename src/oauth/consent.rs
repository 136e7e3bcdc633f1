//! The browser side of the authorization endpoint, free of HTTP: what a request leads to (sign
//! in, the consent page, or straight back to the client with a code), the consent form's
//! answer, remembered per user and client, and its revocation from the account page.
//! Blocking (store): call from `web::block`.

use super::authorize::{self, AuthorizeError, AuthorizeParams, AuthorizeRequest, Prompt, Step};
use super::clients;
use super::error::ErrorCode;
use super::store::OAuthStore;
use super::tenancy;
use crate::clock::Clock;
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FlowPolicy, Pending, Step as FlowStep};
use crate::flows::store::FlowStore;
use crate::flows::types::{Requirement, Resume};
use crate::ids::{ClientId, UserId};
use crate::mfa::store::FactorStore;
use crate::mfa::types::Factors;
use crate::sessions::types::CurrentSession;
use crate::store::StoreError;
use crate::web::paths::{AUTHORIZE, AUTHORIZE_RESUME};

/// Where an authorization request goes next.
#[derive(Debug)]
pub enum Next {
    /// To the sign-in page (forced when `reauth`) within the sign-in flow `flow` (the cookie
    /// value), which holds the request whole; the authorization endpoint resumes it from there.
    SignIn {
        flow: PlainFlowId,
        reauth: bool,
        login_hint: Option<String>,
    },
    /// A step-up of the signed-in session within the flow `flow` (the cookie value), which
    /// holds the request and the session's methods: `step` says what it asks first (a second
    /// factor, enrolment of one, or a sign-in); the authorization endpoint resumes it from there.
    StepUp {
        flow: PlainFlowId,
        step: flows::Step,
        login_hint: Option<String>,
    },
    /// The consent page, for this request (narrowed to what the user may grant).
    Consent(Box<AuthorizeRequest>),
    /// Back to the client with a code: the URL to send the browser to.
    Redirect(String),
}

/// Validates the request, narrows it to what the signed-in user may grant, and decides with
/// the remembered consent ([`authorize::next_step`]); issues the code when nothing is left to
/// ask. `issuer` goes into the redirect (RFC 9207), `default_audience` into the grant
/// (RFC 8707).
pub fn begin<S: OAuthStore + FlowStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    params: AuthorizeParams,
    current: Option<&CurrentSession>,
    client_addr: Option<String>,
) -> Result<Next, AuthorizeError> {
    let asked = Asked {
        params,
        client_addr,
        fresh_sign_in: false,
    };
    decide(store, clock, issuer, default_audience, asked, current)
}

/// A request as the endpoint received it, and where from.
struct Asked {
    params: AuthorizeParams,
    /// The address unit a new sign-in flow is counted under.
    client_addr: Option<String>,
    /// Resumed from the sign-in flow the user just completed for it.
    fresh_sign_in: bool,
}

/// Whether the authorization endpoint can resume the request of its sign-in flow.
#[derive(Debug)]
pub enum Resumed {
    /// Where the request leads now that the user signed in for it.
    Next(Next),
    /// The flow waits for the user to sign in.
    NotYet,
    /// No flow to resume (none, expired, taken already, or another user's).
    Gone,
}

/// Takes the completed sign-in flow `flow` of the signed-in user and goes on with the
/// authorization request it holds (stored whole, never read from a URL), with `prompt=login`
/// and `max_age` met by that sign-in.
pub fn resume<S: OAuthStore + FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    flow: &PlainFlowId,
    current: &CurrentSession,
    client_addr: Option<String>,
) -> Result<Resumed, AuthorizeError> {
    let flow = match flows::take_done(store, clock, &FlowPolicy::default(), flow, &current.user.id)?
    {
        Pending::Ready(flow) => flow,
        Pending::Unmet(flow) => {
            let request =
                authorize::validate(store, stored_request(&flow.resume)?, default_audience)?;
            return Err(request.fail(ErrorCode::UnmetAuthenticationRequirements, UNMET));
        }
        Pending::Gone => return Ok(Resumed::Gone),
        Pending::NotYet => return Ok(Resumed::NotYet),
    };
    let params = stored_request(&flow.resume)?;
    let asked = Asked {
        params,
        client_addr,
        fresh_sign_in: true,
    };
    let next = match decide(store, clock, issuer, default_audience, asked, Some(current)) {
        // The picker comes back to the resume path: the flow waits for it.
        Err(AuthorizeError::ChooseOrganisation { .. }) => {
            flows::put_back(store, &flow)?;
            return Err(AuthorizeError::ChooseOrganisation {
                return_to: AUTHORIZE_RESUME.to_owned(),
            });
        }
        other => other?,
    };
    // The consent answer takes the flow again: that is what shows it comes from this sign-in,
    // not from a consent form posted by a browser that was merely signed in.
    if let Next::Consent(request) = &next
        && asks_for_sign_in(request)
    {
        flows::put_back(store, &flow)?;
    }
    Ok(Resumed::Next(next))
}

/// The authorization request a flow holds, or `None`-like refusal for a flow of a page.
fn stored_request(resume: &Resume) -> Result<AuthorizeParams, AuthorizeError> {
    match resume {
        Resume::Authorize(json) => serde_json::from_str(json).map_err(|_| {
            AuthorizeError::Page("The stored authorization request is unreadable.".into())
        }),
        Resume::Page(_) | Resume::Saml(_) => Err(AuthorizeError::Page(SIGN_IN_AGAIN.into())),
    }
}

/// A request that can only be answered after a sign-in made for it: `prompt=login` or
/// `select_account`, or a `max_age` (met by the session itself when recent enough).
fn asks_for_sign_in(request: &AuthorizeRequest) -> bool {
    request.max_age.is_some()
        || request
            .prompts
            .iter()
            .any(|p| matches!(p, Prompt::Login | Prompt::SelectAccount))
}

/// The largest authorization request (as stored JSON) a sign-in flow keeps.
pub const MAX_STORED_REQUEST: usize = 16 * 1024;

const STRONGER_SIGN_IN: &str = "This application needs a stronger sign-in than this session's. \
    Start again from the application.";

const SIGN_IN_AGAIN: &str =
    "This sign-in is over or has expired. Start again from the application.";

fn decide<S: OAuthStore + FlowStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    asked: Asked,
    current: Option<&CurrentSession>,
) -> Result<Next, AuthorizeError> {
    let mut request = authorize::validate(store, asked.params, default_audience)?;
    request.fresh_sign_in = asked.fresh_sign_in;
    let (remembered, factors) = match current {
        // Signed in: only what this user may grant is asked for, remembered or issued.
        Some(c) => {
            let params = request.params.clone();
            authorize::narrow_to_user(store, &mut request, c, || comeback(&params))?;
            take_asked_org(store, &request, c)?;
            // A consent that cannot be read is asked for again.
            let remembered = store
                .find_consent(&c.user.id, &request.client.id)
                .ok()
                .flatten();
            (remembered, store.factors(&c.user.id)?)
        }
        None => (None, Factors::default()),
    };
    let now = clock.now();
    match authorize::next_step(&request, current, &factors, remembered.as_ref(), now)? {
        Step::StepUp => {
            let current =
                current.ok_or_else(|| AuthorizeError::Page("A step-up needs a session.".into()))?;
            step_up(store, clock, asked.client_addr, request, current, &factors)
        }
        Step::SignIn { reauth } => {
            // The request waits in a sign-in flow, whole and unchanged: the flow records that
            // the user signed in for it, which is what meets its prompt=login or max_age (the
            // ID token's auth_time tells the client when, OIDC Core §3.1.2.1).
            let requirement = Requirement {
                max_age: request.max_age,
                force_login: request
                    .prompts
                    .iter()
                    .any(|p| matches!(p, Prompt::Login | Prompt::SelectAccount)),
                acr: request.acr.map(str::to_owned),
            };
            let resume = kept_request(&request)?;
            let org = tenancy::asked_org(store, request.params.organization.as_deref())?;
            let flow =
                flows::begin_in_org(store, clock, requirement, resume, asked.client_addr, org)?;
            Ok(Next::SignIn {
                flow,
                reauth,
                login_hint: request.login_hint,
            })
        }
        Step::Consent => Ok(Next::Consent(Box::new(request))),
        Step::Issue => {
            let current = current.ok_or_else(|| {
                AuthorizeError::Page("The code cannot be issued without a session.".into())
            })?;
            issue(store, clock, issuer, &request, current).map(Next::Redirect)
        }
    }
}

/// Where the picker sends the browser back to: the same authorization request.
fn comeback(params: &AuthorizeParams) -> String {
    format!(
        "{AUTHORIZE}?{}",
        serde_urlencoded::to_string(params).unwrap_or_default()
    )
}

/// An `organization` the user asked for and is a member of becomes the session's active
/// organisation when it has none yet.
fn take_asked_org<S: OAuthStore>(
    store: &S,
    request: &AuthorizeRequest,
    current: &CurrentSession,
) -> Result<(), AuthorizeError> {
    if current.org.is_none()
        && request.params.organization.is_some()
        && let Some(m) = &request.org
    {
        store.set_session_org(&current.session.id_hash, Some(&m.org.id))?;
    }
    Ok(())
}

/// The request, stored whole in a sign-in flow for the authorization endpoint to resume.
fn kept_request(request: &AuthorizeRequest) -> Result<Resume, AuthorizeError> {
    let json = serde_json::to_string(&request.params)
        .map_err(|_| AuthorizeError::Page("The authorization request cannot be kept.".into()))?;
    // Anyone may make the server keep a request: its size is bounded (a `state` of 2,048
    // characters and every other parameter at its limit fit many times over).
    if json.len() > MAX_STORED_REQUEST {
        return Err(request.fail(
            ErrorCode::InvalidRequest,
            "the authorization request is too large",
        ));
    }
    Ok(Resume::Authorize(json))
}

/// A signed-in session falls short of the request's `acr` or of the organisation requirement:
/// a step-up flow carries the session's methods, so only what is missing is asked (OIDC Core
/// §3.1.2.1; completing it steps the session up in place, keeping `sid` and other clients'
/// grants). An `acr` the user cannot meet (no second factor, none required) is answered at
/// once with `unmet_authentication_requirements` (OpenID Connect Unmet Authentication
/// Requirements 1.0). Under `prompt=none` nothing may be shown (OIDC Core §3.1.2.6): a second
/// factor to ask is `login_required` (authentication needs a page), enrolment is
/// `interaction_required`.
fn step_up<S: OAuthStore + FlowStore>(
    store: &S,
    clock: &dyn Clock,
    client_addr: Option<String>,
    request: AuthorizeRequest,
    current: &CurrentSession,
    factors: &Factors,
) -> Result<Next, AuthorizeError> {
    let requirement = Requirement {
        max_age: request.max_age,
        force_login: false,
        acr: request.acr.map(str::to_owned),
    };
    let methods = flows::methods_of_amr(&current.session.amr, current.session.auth_time);
    let plan = flows::plan_step_up(requirement, &current.user.id, methods, factors, clock.now());
    let step = plan.step;
    let silent = request.prompts.contains(&Prompt::None);
    match step {
        FlowStep::Unmet => {
            return Err(request.fail(ErrorCode::UnmetAuthenticationRequirements, UNMET));
        }
        FlowStep::Enrol if silent => {
            return Err(request.fail(
                ErrorCode::InteractionRequired,
                "the user must enrol a second factor",
            ));
        }
        FlowStep::Done => {
            return Err(AuthorizeError::Page(
                "This sign-in cannot be stepped up. Start again from the application.".into(),
            ));
        }
        _ if silent => {
            return Err(request.fail(ErrorCode::LoginRequired, "a stronger sign-in is required"));
        }
        _ => {}
    }
    let resume = kept_request(&request)?;
    let flow = plan.begin(store, resume, client_addr)?;
    Ok(Next::StepUp {
        flow,
        step,
        login_hint: request.login_hint,
    })
}

const UNMET: &str = "the authentication context class asked for cannot be met for this user";

/// The code, and the redirect that carries it to the client (RFC 6749 §4.1.2).
fn issue<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    request: &AuthorizeRequest,
    current: &CurrentSession,
) -> Result<String, AuthorizeError> {
    let code = authorize::issue_code(store, request, current, clock.now())?;
    Ok(authorize::redirect_url(
        &request.redirect_uri,
        issuer,
        &[("code", code.expose())],
        request.state.as_deref(),
    ))
}

/// The consent form's answer: the request, as posted back, and the button pressed.
pub struct ConsentAnswer {
    pub params: AuthorizeParams,
    pub allow: bool,
    /// The sign-in flow the browser's cookie names: the proof of the sign-in a `prompt=login`
    /// or `max_age` request needs (see [`resume`]).
    pub flow: Option<PlainFlowId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The request is refused, or denied by the user: shown or sent back as
    /// [`AuthorizeError`] says.
    #[error("the authorization request was not granted")]
    Authorize(AuthorizeError),
    /// The consent could not be remembered.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthorizeError> for ConsentError {
    fn from(e: AuthorizeError) -> Self {
        ConsentError::Authorize(e)
    }
}

/// Validates the posted request again (nothing of it is trusted from the page), then denies
/// (`access_denied`, RFC 6749 §4.1.2.1) or remembers the consent, adding to what the user
/// granted the client before, and issues the code. Returns the redirect to the client.
///
/// A request with `prompt=login`/`select_account`, or whose `max_age` the session no longer
/// meets, is answered only with the completed sign-in flow that was made for it (taken once),
/// and then it is the flow's stored request that is answered, not the posted one: a browser
/// that is merely signed in cannot post its way past a fresh sign-in. Nor past the request's
/// `acr` or the organisation MFA requirement ([`authorize::meets_authentication`]): an Allow
/// from a session short of it is refused with a page (a Deny still answers the client).
pub fn answer<S: OAuthStore + FlowStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    issuer: &str,
    default_audience: &str,
    answer: ConsentAnswer,
    current: &CurrentSession,
) -> Result<String, ConsentError> {
    let posted = authorize::validate(store, answer.params, default_audience)?;
    let now = clock.now();
    let signed_in_for_it = posted
        .prompts
        .iter()
        .any(|p| matches!(p, Prompt::Login | Prompt::SelectAccount))
        || posted
            .max_age
            .is_some_and(|max| authorize::older_than(current.session.auth_time, max, now));
    let mut request = if signed_in_for_it {
        let taken = match &answer.flow {
            Some(flow) => {
                flows::take_done(store, clock, &FlowPolicy::default(), flow, &current.user.id)?
            }
            None => Pending::Gone,
        };
        let Pending::Ready(flow) = taken else {
            return Err(AuthorizeError::Page(SIGN_IN_AGAIN.into()).into());
        };
        // The flow must be the one this consent page was shown for: a flow of another request
        // (started since in another tab) is never answered by this page's button.
        let stored = stored_request(&flow.resume)?;
        if !stored.same_request(&posted.params) {
            return Err(AuthorizeError::Page(SIGN_IN_AGAIN.into()).into());
        }
        let mut request = authorize::validate(store, stored, default_audience)?;
        request.fresh_sign_in = true;
        request
    } else {
        posted
    };
    let params = request.params.clone();
    authorize::narrow_to_user(store, &mut request, current, || comeback(&params))?;
    if !answer.allow {
        return Err(request
            .fail(ErrorCode::AccessDenied, "the user denied the request")
            .into());
    }
    // The endpoint's rule again: a session short of the request's acr or of the organisation
    // requirement never consents past it (the endpoint would have stepped it up first).
    let factors = store.factors(&current.user.id)?;
    if !authorize::meets_authentication(&request, &current.session.amr, &factors) {
        return Err(AuthorizeError::Page(STRONGER_SIGN_IN.into()).into());
    }
    let user_id = &current.user.id;
    let previous = store
        .find_consent(user_id, &request.client.id)?
        .unwrap_or_default();
    store.save_consent(
        user_id,
        &request.client.id,
        &previous.union(&request.scope),
        clock.now(),
    )?;
    Ok(issue(store, clock, issuer, &request, current)?)
}

/// The account page's "revoke": forgets the consent and ends the client's tokens. An id no
/// client can have names no consent: nothing to revoke.
pub fn revoke<S: OAuthStore>(
    store: &S,
    clock: &dyn Clock,
    user_id: &UserId,
    client_id: &ClientId,
) -> Result<(), StoreError> {
    if clients::plausible_client_id(client_id) {
        store.revoke_consent(user_id, client_id, clock.now())?;
    }
    Ok(())
}
