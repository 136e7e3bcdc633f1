//! Sign-in, account and sign-out pages.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::signin::SignInError;
use super::types::{Membership, User};
use crate::audit::RequestMeta;
use crate::credentials::PlainFlowId;
use crate::flows::service::{self as flows, FLOW_TTL, FlowPolicy, Outcome, PasswordStep, Step};
use crate::flows::types::Resume;
use crate::oauth::types::ConsentRecord;
use crate::sessions::service as sessions;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, SignedIn, flow_secret, session_secret, state};
use crate::web::paths::{
    ACCOUNT, ACCOUNT_EMAIL, ACCOUNT_ORGANISATION, ACCOUNT_PROFILE, AUTHORIZE_RESUME,
    CONSENTS_REVOKE, LOGIN, LOGIN_FACTOR, LOGIN_SSO, LOGOUT, PASSWORD_FORGOT, SAML_SSO_RESUME,
    SETTINGS_SECURITY, resumes_flow,
};
use crate::web::{cookies, csrf, html};
use crate::web::{login_redirect_with, see_other};

/// Same-origin paths only: `/x` but not `//evil.example`, `/\evil.example` or `https://...`.
/// Anything else falls back to the account page (open-redirect protection).
pub fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 2048
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_owned()
        }
        _ => ACCOUNT.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    /// The tag of the pending sign-in this page continues (see [`flow_tag`]).
    flow: Option<&'a str>,
    login: &'a str,
    /// What was typed into "Continue with SSO".
    sso: &'a str,
    sso_action: &'a str,
    error: Option<&'a str>,
    /// Offer passkeys (the issuer is a domain name, see `crate::mfa::passkeys`).
    passkeys: bool,
    /// A notice above the form (after a password reset).
    notice: Option<&'a str>,
    forgot: &'a str,
}

/// Names the pending sign-in a sign-in page was shown for: the first 16 hex digits of the hash
/// of its cookie value (nothing of the cookie itself). The form carries it back, so a page shown
/// for one authorization request cannot complete another one started since in the same browser.
pub fn flow_tag(req: &HttpRequest) -> Option<String> {
    flow_secret(req).map(|f| f.hash().as_str().chars().take(16).collect())
}

pub const OTHER_SIGN_IN: &str = "Another sign-in was started in this browser after this page was \
    shown. Start again from the application.";

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    reauth: Option<String>,
    login_hint: Option<String>,
    /// `done` after a password reset: the page says so.
    reset: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    password: SecretString,
    return_to: Option<String>,
    /// The pending sign-in the page was shown for ([`flow_tag`]).
    flow: Option<String>,
}

impl CsrfProtected for LoginForm {
    /// Issued and checked without the session: see [`CsrfProtected::SESSION_BOUND`].
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn login_response(
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    login: &str,
    error: Option<&str>,
    retry_after: Option<u64>,
) -> Result<HttpResponse, WebError> {
    login_page_with(req, status, return_to, login, "", error, retry_after, None)
}

/// The sign-in page again, after "Continue with SSO" (`sso`: what was typed) did not route.
pub fn login_page_response(
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    login: &str,
    sso: &str,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    login_page_with(req, status, return_to, login, sso, error, None, None)
}

#[allow(clippy::too_many_arguments)]
fn login_page_with(
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    login: &str,
    sso: &str,
    error: Option<&str>,
    retry_after: Option<u64>,
    notice: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let flow = resumes_flow(return_to).then(|| flow_tag(req)).flatten();
    let mut token = csrf::issue(st, req, None);
    let mut builder = token.builder(status);
    if let Some(seconds) = retry_after {
        builder.insert_header((RETRY_AFTER, seconds.to_string()));
    }
    html(
        builder,
        &LoginPage {
            csrf: &token.token,
            return_to,
            flow: flow.as_deref(),
            login,
            sso: &sso.chars().take(254).collect::<String>(),
            sso_action: LOGIN_SSO,
            error,
            passkeys: st.relying_party.is_some(),
            notice,
            forgot: PASSWORD_FORGOT,
        },
    )
}

pub async fn login_page(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let return_to = safe_return_to(query.return_to.as_deref());
    // A pending sign-in always shows the form: the flow asked for a sign-in.
    if session.0.is_some() && query.reauth.is_none() && !resumes_flow(&return_to) {
        return Ok(see_other(&return_to));
    }
    let hint: String = query
        .login_hint
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(254)
        .collect();
    let notice = (query.reset.as_deref() == Some("done"))
        .then_some("Your password was changed and every session of the account was signed out. Sign in with your new password.");
    login_page_with(
        &req,
        StatusCode::OK,
        &return_to,
        &hint,
        "",
        None,
        None,
        notice,
    )
}

/// The sign-in form's answer, within the pending sign-in the browser's cookie names when the
/// form continues one (`return_to` is the authorization endpoint's resume path); otherwise
/// within a flow for the page `return_to` names, begun and completed here.
pub async fn login_submit(
    req: HttpRequest,
    form: CsrfForm<LoginForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    if resumes_flow(&return_to) && form.flow != flow_tag(&req) {
        return Err(WebError::BadRequest(OTHER_SIGN_IN.into()));
    }
    let login = form.login.clone();
    let input = PasswordStep {
        login: form.login,
        password: form.password,
        flow: resumes_flow(&return_to)
            .then(|| flow_secret(&req))
            .flatten(),
        fallback: Resume::Page(return_to.clone()),
        previous: session_secret(&req),
        client_addr: meta.ip.map(crate::netaddr::subscriber),
    };
    let st = state(&req).clone();
    let result = web::block(move || {
        flows::submit_password(
            &st.store,
            &st.hasher,
            st.clock.as_ref(),
            &st.throttle,
            st.session_policy,
            &FlowPolicy::default(),
            input,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(outcome) => outcome_response(&req, outcome),
        Err(e @ SignInError::Invalid) => login_response(
            &req,
            StatusCode::UNAUTHORIZED,
            &return_to,
            &login,
            Some(&e.to_string()),
            None,
        ),
        Err(e @ SignInError::SsoRequired { .. }) => login_response(
            &req,
            StatusCode::FORBIDDEN,
            &return_to,
            &login,
            Some(&e.to_string()),
            None,
        ),
        Err(SignInError::Throttled { retry_after }) => login_response(
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            &return_to,
            &login,
            Some("Too many failed sign-ins. Wait a little and try again."),
            Some(retry_after),
        ),
        Err(SignInError::Busy(_)) => login_response(
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            &return_to,
            &login,
            Some("The service is busy. Try again in a moment."),
            Some(1),
        ),
        Err(SignInError::Store(e)) => Err(e.into()),
    }
}

/// Where a method done in the sign-in flow sends the browser: on to what the flow resumes, to
/// enrol a second factor, or to the second-factor page; with the session cookie once signed
/// in, and the flow's cookie when the flow was begun by this request.
pub fn outcome_response(req: &HttpRequest, outcome: Outcome) -> Result<HttpResponse, WebError> {
    let (to, mut res) = outcome_builder(req, &outcome, StatusCode::SEE_OTHER);
    res.insert_header((actix_web::http::header::LOCATION, to));
    Ok(res.finish())
}

/// [`outcome_response`] for a script (a passkey ceremony, whose answer `fetch` reads): 200 with
/// `{"location": ...}` for the script to go to, and the same cookies.
pub fn outcome_json(req: &HttpRequest, outcome: Outcome) -> Result<HttpResponse, WebError> {
    let (to, mut res) = outcome_builder(req, &outcome, StatusCode::OK);
    Ok(res.json(serde_json::json!({ "location": to })))
}

/// The one place that sets an outcome's cookies; returns where it goes.
fn outcome_builder(
    req: &HttpRequest,
    outcome: &Outcome,
    status: StatusCode,
) -> (String, actix_web::HttpResponseBuilder) {
    let st = state(req);
    let (to, session, flow) = match outcome {
        // A user in several organisations chooses one before the page (issue #11).
        Outcome::SignedIn(done) if done.choose_org && matches!(done.resume, Resume::Page(_)) => (
            crate::web::picker_url(resume_path(&done.resume)),
            Some(&done.session),
            None,
        ),
        Outcome::SignedIn(done) => (
            resume_path(&done.resume).to_owned(),
            Some(&done.session),
            None,
        ),
        Outcome::Enrol { completed, flow } => (
            SETTINGS_SECURITY.to_owned(),
            Some(&completed.session),
            flow.as_ref(),
        ),
        Outcome::SecondFactor { flow } => (LOGIN_FACTOR.to_owned(), None, flow.as_ref()),
    };
    let mut res = HttpResponse::build(status);
    if let Some(session) = session {
        res.cookie(cookies::build(
            &st.settings.server,
            cookies::SESSION,
            session.expose().to_owned(),
        ));
    }
    if let Some(flow) = flow {
        res.cookie(cookies::short_lived(
            &st.settings.server,
            cookies::FLOW,
            flow.expose().to_owned(),
            FLOW_TTL,
        ));
    }
    (to, res)
}

/// Where a step-up flow (`flow`, begun for a signed-in session) sends the browser first, as
/// its `step` says: the second-factor page, enrolment in Settings > Security, or the sign-in
/// page (`return_to`: where it comes back to, forced since the user is signed in). The flow's
/// cookie goes along.
pub fn step_up_response(
    req: &HttpRequest,
    flow: &PlainFlowId,
    step: Step,
    return_to: &str,
    login_hint: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let mut res = match step {
        Step::SecondFactor => see_other(LOGIN_FACTOR),
        Step::Enrol => see_other(SETTINGS_SECURITY),
        Step::Identify | Step::Restart | Step::Unmet | Step::Done => {
            login_redirect_with(return_to, true, login_hint)
        }
    };
    res.add_cookie(&cookies::short_lived(
        &st.settings.server,
        cookies::FLOW,
        flow.expose().to_owned(),
        FLOW_TTL,
    ))
    .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(res)
}

/// The path that resumes what a completed flow holds.
pub fn resume_path(resume: &Resume) -> &str {
    match resume {
        Resume::Authorize(_) => AUTHORIZE_RESUME,
        Resume::Saml(_) => SAML_SSO_RESUME,
        Resume::Page(page) => page.as_str(),
    }
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage<'a> {
    csrf: &'a str,
    user: &'a User,
    memberships: &'a [Membership],
    /// The organisation the session acts in (issue #11), if any.
    active: Option<&'a Membership>,
    picker: &'a str,
    consents: &'a [ConsentRecord],
    logout: &'a str,
    revoke_consent: &'a str,
    /// The profile forms (issue #14).
    profile: &'a ProfileState,
    /// The name in the name field: what was typed, else the account's.
    name: &'a str,
    /// The organisation's identity provider owns the address: no change here.
    email_managed: bool,
    profile_action: &'a str,
    email_action: &'a str,
}

/// What the account page's profile forms show besides the account (issue #14): what was
/// typed, the message next to a field, a notice.
#[derive(Debug, Clone, Default)]
pub struct ProfileState {
    /// The name typed (`None`: the account's).
    pub name: Option<String>,
    pub name_error: Option<String>,
    /// The new address typed.
    pub email: String,
    pub email_error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    saved: Option<String>,
    sent: Option<String>,
}

pub async fn account_page(
    req: HttpRequest,
    signed_in: SignedIn,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, WebError> {
    let notice = match (query.saved.as_deref(), query.sent.as_deref()) {
        (Some("name"), _) => Some("Your name was saved."),
        (Some("email"), _) => Some("Your e-mail address was changed."),
        (Some("verified"), _) => Some("Your e-mail address is verified."),
        (_, Some("change")) => Some(
            "We sent a link to the new address. Open it, signed in to this account, to confirm the change.",
        ),
        (_, Some("verify")) => Some(
            "We sent a link to your address. Open it, signed in to this account, to verify it.",
        ),
        _ => None,
    };
    let profile = ProfileState {
        notice: notice.map(str::to_owned),
        ..ProfileState::default()
    };
    render_account(&req, &signed_in, StatusCode::OK, profile).await
}

/// The account page with the profile forms as `profile` says (a form shown again with its
/// input and messages).
pub async fn render_account(
    req: &HttpRequest,
    signed_in: &SignedIn,
    status: StatusCode,
    profile: ProfileState,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let user = signed_in.user().clone();
    let (memberships, consents, email_managed) = web::block(move || {
        Ok::<_, crate::store::StoreError>((
            crate::accounts::store::UserStore::memberships(&st.store, &user.id)?,
            crate::oauth::store::ConsentStore::list_consents(&st.store, &user.id)?,
            crate::selfservice::email::email_managed(&st.store, &user)?,
        ))
    })
    .await??;
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = token.builder(status);
    let name = profile
        .name
        .clone()
        .unwrap_or_else(|| signed_in.user().display_name.clone());
    html(
        builder,
        &AccountPage {
            csrf: &token.token,
            user: signed_in.user(),
            memberships: &memberships,
            active: signed_in.session().org.as_ref(),
            picker: ACCOUNT_ORGANISATION,
            consents: &consents,
            logout: LOGOUT,
            revoke_consent: CONSENTS_REVOKE,
            profile: &profile,
            name: &name,
            email_managed,
            profile_action: ACCOUNT_PROFILE,
            email_action: ACCOUNT_EMAIL,
        },
    )
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for LogoutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Signing out needs no live session (an expired one still has its cookie removed), only the
/// form's token, bound to the session when there is one.
pub async fn logout(
    req: HttpRequest,
    _form: CsrfForm<LogoutForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    if let Some(secret) = session_secret(&req) {
        let st2 = st.clone();
        web::block(move || sessions::end(&st2.store, st2.clock.as_ref(), &secret, &meta)).await??;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, LOGIN))
        .cookie(cookies::removal(&st.settings.server, cookies::SESSION))
        .finish())
}
