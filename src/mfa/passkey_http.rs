//! Passkey endpoints: the ceremonies `static/passkeys.js` drives with `fetch` (urlencoded forms
//! carrying the page's CSRF token; JSON answers: the browser's options, `{"location": ...}` to
//! go on, or `{"error": ...}` with a 4xx), and the settings forms to rename and remove.

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::passkey_signin::{self as signin, Finish};
use super::passkeys::{self, PasskeyError, Registered, Registration};
use crate::accounts::http::{OTHER_SIGN_IN, flow_tag, outcome_json, safe_return_to};
use crate::audit::RequestMeta;
use crate::flows::service::{FLOW_TTL, FlowPolicy};
use crate::flows::types::Resume;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, flow_secret, session_secret, state};
use crate::web::paths::{SETTINGS_SECURITY, resumes_flow};
use crate::web::{cookies, login_redirect_with, login_url_with, see_other};

/// The cookie carrying a registration's state, sealed under the session's `sid`.
const REGISTRATION: &str = "mg_passkey_reg";
/// The cookie naming a flow a passkey sign-in began for a plain page (not an authorization
/// request): apart from `mg_flow`, so that merely opening the sign-in page (whose autofill
/// begins a ceremony) never replaces another tab's pending authorization request.
const PAGE_FLOW: &str = "mg_passkey_flow";

/// The flow a passkey sign-in continues: the authorization request's (`mg_flow`) when the page
/// resumes one, otherwise the one begun for the page.
fn sign_in_flow(req: &HttpRequest, return_to: &str) -> Option<crate::credentials::PlainFlowId> {
    if resumes_flow(return_to) {
        return flow_secret(req);
    }
    let server = &state(req).settings.server;
    req.cookie(&cookies::name(server, PAGE_FLOW))
        .map(|c| crate::credentials::PlainFlowId::new(c.value()))
        .filter(|s| s.expose().len() == 43)
}

/// A passkey failure as the script reads it: a 4xx with `{"error": message}`; a storage
/// failure is the usual page error (503/500). A session that must sign in again first
/// ([`PasskeyError::NeedsReauth`]) is told where: `{"error", "location"}`, the sign-in page
/// that comes back to the security page (as turning TOTP off does).
fn failure(e: PasskeyError) -> Result<HttpResponse, WebError> {
    let status = match e {
        PasskeyError::Store(e) => return Err(e.into()),
        PasskeyError::NeedsReauth => {
            return Ok(HttpResponse::Unauthorized().json(json!({
                "error": e.to_string(),
                "location": login_url_with(SETTINGS_SECURITY, true, None),
            })));
        }
        PasskeyError::Unavailable | PasskeyError::NotFound => StatusCode::NOT_FOUND,
        PasskeyError::NoCeremony
        | PasskeyError::Malformed
        | PasskeyError::BadName
        | PasskeyError::TooMany => StatusCode::BAD_REQUEST,
        PasskeyError::Refused | PasskeyError::Unknown | PasskeyError::CounterRollback => {
            StatusCode::UNAUTHORIZED
        }
        PasskeyError::Duplicate => StatusCode::CONFLICT,
    };
    Ok(HttpResponse::build(status).json(json!({ "error": e.to_string() })))
}

/// Middleware for the JSON endpoints: an error the extractors or the page toolkit answered as
/// a page (a body too large, a form that cannot be read, a CSRF failure, another sign-in) is
/// answered as `{"error": message}` with the same status and headers, as the script reads it.
pub fn json_errors<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = res
        .response()
        .error()
        .and_then(|e| e.as_error::<WebError>())
        .map_or_else(
            || status.canonical_reason().unwrap_or("Error").to_owned(),
            ToString::to_string,
        );
    let (req, page) = res.into_parts();
    let mut answer = HttpResponse::build(status);
    for (name, value) in page.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            answer.append_header((name.clone(), value.clone()));
        }
    }
    let answer = answer.json(json!({ "error": message }));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}

/// A form that carries only its CSRF token (bound to the session).
#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for SessionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /settings/security/passkeys/begin`: the options for `navigator.credentials.create()`.
pub async fn register_begin(
    req: HttpRequest,
    signed_in: SignedIn,
    _form: CsrfForm<SessionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let sid = signed_in.sid().clone();
    let auth_time = signed_in.auth_time();
    let waiting = flow_secret(&req);
    let begun = web::block(move || {
        let rp = st.relying_party.as_ref().ok_or(PasskeyError::Unavailable)?;
        passkeys::begin_registration(
            &st.store,
            rp,
            &st.secrets,
            st.clock.as_ref(),
            &user,
            &sid,
            auth_time,
            waiting.as_ref(),
            meta.ip.map(crate::netaddr::subscriber),
        )
    })
    .await?;
    match begun {
        Ok((options, sealed)) => Ok(HttpResponse::Ok()
            .cookie(cookies::short_lived(
                &state(&req).settings.server,
                REGISTRATION,
                sealed,
                passkeys::CEREMONY_TTL,
            ))
            .json(options)),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// The authenticator's answer as JSON.
    #[serde(default)]
    credential: String,
}

impl CsrfProtected for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /settings/security/passkeys/finish`: stores the new passkey.
pub async fn register_finish(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<RegisterForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let st = state(&req).clone();
    let server = &st.settings.server;
    let sealed = req
        .cookie(&cookies::name(server, REGISTRATION))
        .map(|c| c.value().to_owned());
    let Some(sealed) = sealed else {
        return failure(PasskeyError::NoCeremony);
    };
    let form = form.into_inner();
    let user = signed_in.user().clone();
    let sid = signed_in.sid().clone();
    let auth_time = signed_in.auth_time();
    let waiting = flow_secret(&req).zip(session_secret(&req));
    let st2 = st.clone();
    let done = web::block(move || {
        let rp = st2
            .relying_party
            .as_ref()
            .ok_or(PasskeyError::Unavailable)?;
        passkeys::finish_registration(
            &st2.store,
            rp,
            &st2.secrets,
            st2.clock.as_ref(),
            &user,
            &sid,
            Registration {
                sealed: &sealed,
                response: &form.credential,
                name: &form.name,
                waiting,
                session_policy: st2.session_policy,
                auth_time,
            },
            &meta,
        )
    })
    .await?;
    match done {
        Ok(Registered {
            outcome: Some(outcome),
            ..
        }) => {
            // A sign-in waited for this enrolment: on to where it goes, with its cookies.
            let mut res = outcome_json(&req, outcome)?;
            res.add_cookie(&cookies::removal(server, REGISTRATION))
                .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok(res)
        }
        Ok(Registered { outcome: None, .. }) => Ok(HttpResponse::Ok()
            .cookie(cookies::removal(server, REGISTRATION))
            .json(json!({ "location": SETTINGS_SECURITY }))),
        // A name the user can fix keeps the ceremony; anything else ends it.
        Err(e @ PasskeyError::BadName) => failure(e),
        Err(e) => {
            let mut res = failure(e)?;
            res.add_cookie(&cookies::removal(server, REGISTRATION))
                .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

impl CsrfProtected for RenameForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A settings form's failure as a page; a session that must sign in again first goes to the
/// sign-in page, which comes back to the security page.
fn page_failure(e: PasskeyError) -> Result<HttpResponse, WebError> {
    Err(match e {
        PasskeyError::NeedsReauth => {
            return Ok(login_redirect_with(SETTINGS_SECURITY, true, None));
        }
        PasskeyError::NotFound => WebError::NotFound,
        PasskeyError::Store(e) => e.into(),
        e => WebError::BadRequest(e.to_string()),
    })
}

/// `POST /settings/security/passkeys/{id}/rename`.
pub async fn rename(
    req: HttpRequest,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: CsrfForm<RenameForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let st = state(&req).clone();
    let user = signed_in.user().id.clone();
    let name = form.into_inner().name;
    match web::block(move || {
        passkeys::rename(&st.store, st.clock.as_ref(), &user, &id, &name, &meta)
    })
    .await?
    {
        Ok(()) => Ok(see_other(SETTINGS_SECURITY)),
        Err(e) => page_failure(e),
    }
}

/// `POST /settings/security/passkeys/{id}/delete`.
pub async fn delete(
    req: HttpRequest,
    signed_in: SignedIn,
    id: web::Path<String>,
    _form: CsrfForm<SessionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let st = state(&req).clone();
    let user = signed_in.user().id.clone();
    let auth_time = signed_in.auth_time();
    match web::block(move || {
        passkeys::remove(&st.store, st.clock.as_ref(), &user, &id, auth_time, &meta)
    })
    .await?
    {
        Ok(()) => Ok(see_other(SETTINGS_SECURITY)),
        Err(e) => page_failure(e),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    /// The tag of the pending sign-in the page was shown for (see [`flow_tag`]).
    flow: Option<String>,
}

impl CsrfProtected for SignInForm {
    /// The sign-in page's token, issued without a session (as the password form's).
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/passkey/begin`: a usernameless challenge in the page's pending sign-in (the
/// authorization request's), or in a flow begun here for the page `return_to` names.
pub async fn sign_in_begin(
    req: HttpRequest,
    form: CsrfForm<SignInForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    if resumes_flow(&return_to) && form.flow != flow_tag(&req) {
        return Err(WebError::BadRequest(OTHER_SIGN_IN.into()));
    }
    let flow = sign_in_flow(&req, &return_to);
    let st = state(&req).clone();
    let begun = web::block(move || {
        let rp = st.relying_party.as_ref().ok_or(PasskeyError::Unavailable)?;
        signin::begin_sign_in(
            &st.store,
            rp,
            &st.secrets,
            st.clock.as_ref(),
            &FlowPolicy::default(),
            flow,
            Resume::Page(return_to),
            meta.ip.map(crate::netaddr::subscriber),
        )
    })
    .await?;
    match begun {
        Ok(begun) => {
            let mut res = HttpResponse::Ok();
            if let Some(fresh) = begun.fresh {
                res.cookie(cookies::short_lived(
                    &state(&req).settings.server,
                    PAGE_FLOW,
                    fresh.expose().to_owned(),
                    FLOW_TTL,
                ));
            }
            Ok(res.json(begun.options))
        }
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
pub struct AssertionForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    /// The authenticator's answer as JSON.
    #[serde(default)]
    credential: String,
}

impl CsrfProtected for AssertionForm {
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/passkey/finish`: signs in with the assertion (see
/// [`signin::finish_sign_in`]); answers where to go.
pub async fn sign_in_finish(
    req: HttpRequest,
    form: CsrfForm<AssertionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let flow = sign_in_flow(&req, &return_to);
    finish(req, flow, form.credential, meta, false).await
}

#[derive(Deserialize)]
pub struct FactorForm {
    #[serde(default)]
    csrf: String,
    /// The tag of the flow the factor page was shown for.
    #[serde(default)]
    flow: String,
    #[serde(default)]
    credential: String,
}

impl CsrfProtected for FactorForm {
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/factor/passkey/begin`: a challenge for the flow user's passkeys.
pub async fn factor_begin(
    req: HttpRequest,
    form: CsrfForm<FactorForm>,
) -> Result<HttpResponse, WebError> {
    super::http::check_flow_tag(&req, &form.flow)?;
    let Some(flow) = flow_secret(&req) else {
        return failure(PasskeyError::NoCeremony);
    };
    let st = state(&req).clone();
    let begun = web::block(move || {
        let rp = st.relying_party.as_ref().ok_or(PasskeyError::Unavailable)?;
        signin::begin_second_factor(
            &st.store,
            rp,
            &st.secrets,
            st.clock.as_ref(),
            &FlowPolicy::default(),
            &flow,
        )
    })
    .await?;
    match begun {
        Ok(options) => Ok(HttpResponse::Ok().json(options)),
        Err(e) => failure(e),
    }
}

/// `POST /login/factor/passkey/finish`: the passkey as the second factor.
pub async fn factor_finish(
    req: HttpRequest,
    form: CsrfForm<FactorForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    super::http::check_flow_tag(&req, &form.flow)?;
    let flow = flow_secret(&req);
    finish(req, flow, form.into_inner().credential, meta, true).await
}

async fn finish(
    req: HttpRequest,
    flow: Option<crate::credentials::PlainFlowId>,
    credential: String,
    meta: RequestMeta,
    second_factor: bool,
) -> Result<HttpResponse, WebError> {
    let Some(flow) = flow else {
        return failure(PasskeyError::NoCeremony);
    };
    let previous = session_secret(&req);
    let st = state(&req).clone();
    let done = web::block(move || {
        let rp = st.relying_party.as_ref().ok_or(PasskeyError::Unavailable)?;
        let input = Finish {
            rp,
            secrets: &st.secrets,
            clock: st.clock.as_ref(),
            session_policy: st.session_policy,
            policy: &FlowPolicy::default(),
            flow: &flow,
            response: &credential,
            previous,
        };
        if second_factor {
            signin::finish_second_factor(&st.store, input, &meta)
        } else {
            signin::finish_sign_in(&st.store, input, &meta)
        }
    })
    .await?;
    match done {
        Ok(outcome) => outcome_json(&req, outcome),
        Err(e) => failure(e),
    }
}
