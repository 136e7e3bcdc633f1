//! TOTP's forms: enrolment, confirmation, recovery codes and turning it off on Settings >
//! Security; a TOTP or recovery code on the sign-in flow's factor page.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::http::{
    FACTOR_GONE, TotpNotice, check_flow_tag, factor_response, security_response, totp_web_error,
};
use super::totp_service::{self as service, Code, CodeError, TotpError};
use crate::accounts::http::outcome_response;
use crate::audit::RequestMeta;
use crate::flows::service::{FlowPolicy, Outcome};
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{
    SignedIn, SignedOut, SignedOutAnswer, flow_secret, session_secret, state,
};
use crate::web::paths::SETTINGS_SECURITY;
use crate::web::{login_redirect_with, see_other};

/// The security page's forms, posted signed out, sign in and come back to the page (not to
/// the form's path, which answers only POST).
pub struct ToSecurity;

impl SignedOut for ToSecurity {
    fn answer(_: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::SignIn(Some(SETTINGS_SECURITY.to_owned()))
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    code: Option<SecretString>,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn code_of(code: &Option<SecretString>) -> &str {
    code.as_ref().map_or("", |c| c.expose_secret())
}

/// The answer to a TOTP action that went wrong: the page again with the error, or a
/// sign-in first ([`TotpError::NeedsReauth`]).
async fn refused(
    req: &HttpRequest,
    signed_in: &SignedIn<ToSecurity>,
    e: TotpError,
) -> Result<HttpResponse, WebError> {
    let status = match &e {
        TotpError::NeedsReauth => return Ok(login_redirect_with(SETTINGS_SECURITY, true, None)),
        TotpError::Store(_) | TotpError::Sealed(_) => return Err(totp_web_error(e)),
        TotpError::WrongCode => StatusCode::UNAUTHORIZED,
        TotpError::AlreadyOn => StatusCode::CONFLICT,
        TotpError::NotPending | TotpError::NotOn | TotpError::Malformed => StatusCode::BAD_REQUEST,
    };
    let notice = TotpNotice {
        error: Some(e.to_string()),
        ..TotpNotice::default()
    };
    security_response(req, signed_in, status, &notice).await
}

/// `POST /settings/security/totp`: a new seed, shown on the security page until confirmed.
pub async fn begin(
    req: HttpRequest,
    signed_in: SignedIn<ToSecurity>,
    _form: CsrfForm<ActionForm>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let result =
        web::block(move || service::begin(&st.store, &st.secrets, st.clock.as_ref(), &user))
            .await?;
    match result {
        Ok(()) => Ok(see_other(SETTINGS_SECURITY)),
        Err(e) => refused(&req, &signed_in, e).await,
    }
}

/// `POST /settings/security/totp/confirm`: a current code turns the pending enrolment on; the
/// recovery codes are shown once. A sign-in flow waiting for this enrolment goes on: the
/// session is stepped up (its new cookie set here) and the page links to what the flow
/// resumes.
pub async fn confirm(
    req: HttpRequest,
    signed_in: SignedIn<ToSecurity>,
    form: CsrfForm<ConfirmForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let form = form.into_inner();
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let flow = flow_secret(&req).zip(session_secret(&req));
    let result = web::block(move || {
        service::confirm(
            &st.store,
            &st.secrets,
            st.clock.as_ref(),
            st.session_policy,
            &user,
            code_of(&form.code),
            flow,
            &meta,
        )
    })
    .await?;
    let confirmed = match result {
        Ok(c) => c,
        Err(e) => return refused(&req, &signed_in, e).await,
    };
    let mut notice = TotpNotice {
        codes: confirmed
            .codes
            .iter()
            .map(|c| c.expose().to_owned())
            .collect(),
        ..TotpNotice::default()
    };
    let Some(outcome) = confirmed.outcome else {
        return security_response(&req, &signed_in, StatusCode::OK, &notice).await;
    };
    // The flow's answer (the stepped-up session's cookie, where to go) on the codes page.
    let redirect = outcome_response(&req, outcome)?;
    notice.continue_to = redirect
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = security_response(&req, &signed_in, StatusCode::OK, &notice).await?;
    for cookie in redirect.cookies() {
        res.add_cookie(&cookie)
            .map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(res)
}

/// `POST /settings/security/recovery-codes`: a new set of recovery codes, shown once; needs a
/// sign-in within the last five minutes.
pub async fn regenerate_codes(
    req: HttpRequest,
    signed_in: SignedIn<ToSecurity>,
    _form: CsrfForm<ActionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let auth_time = signed_in.auth_time();
    let result = web::block(move || {
        service::regenerate_codes(&st.store, st.clock.as_ref(), &user, auth_time, &meta)
    })
    .await?;
    match result {
        Ok(codes) => {
            let notice = TotpNotice {
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
                ..TotpNotice::default()
            };
            security_response(&req, &signed_in, StatusCode::OK, &notice).await
        }
        Err(e) => refused(&req, &signed_in, e).await,
    }
}

/// `POST /settings/security/totp/disable`: turns TOTP off; needs a sign-in within the last
/// five minutes (otherwise: sign in again, and back to the page).
pub async fn disable(
    req: HttpRequest,
    signed_in: SignedIn<ToSecurity>,
    _form: CsrfForm<ActionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    // The user's own change, in the organisation the session acts in.
    let meta = meta.acting_in(signed_in.session().org_id());
    let st = state(&req).clone();
    let user = signed_in.user().clone();
    let auth_time = signed_in.auth_time();
    let result =
        web::block(move || service::disable(&st.store, st.clock.as_ref(), &user, auth_time, &meta))
            .await?;
    match result {
        Ok(()) => Ok(see_other(SETTINGS_SECURITY)),
        Err(e) => refused(&req, &signed_in, e).await,
    }
}

#[derive(Deserialize)]
pub struct FactorCodeForm {
    #[serde(default)]
    csrf: String,
    /// The tag of the flow the factor page was shown for.
    #[serde(default)]
    flow: String,
    code: Option<SecretString>,
}

impl CsrfProtected for FactorCodeForm {
    /// Issued by the factor page before any session exists.
    const SESSION_BOUND: bool = false;

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/factor/totp`: a TOTP code as the flow's second factor.
pub async fn submit_totp(
    req: HttpRequest,
    form: CsrfForm<FactorCodeForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    submit_code(req, form.into_inner(), false, meta).await
}

/// `POST /login/factor/recovery`: a recovery code in place of a TOTP code.
pub async fn submit_recovery_code(
    req: HttpRequest,
    form: CsrfForm<FactorCodeForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    submit_code(req, form.into_inner(), true, meta).await
}

async fn submit_code(
    req: HttpRequest,
    form: FactorCodeForm,
    recovery: bool,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    check_flow_tag(&req, &form.flow)?;
    let secret = flow_secret(&req).ok_or_else(|| WebError::BadRequest(FACTOR_GONE.into()))?;
    let st = state(&req).clone();
    let previous = session_secret(&req);
    let result: Result<Outcome, CodeError> = web::block(move || {
        let typed = code_of(&form.code);
        let code = if recovery {
            Code::Recovery(typed)
        } else {
            Code::Totp(typed)
        };
        service::sign_in_with_code(
            &st.store,
            &st.secrets,
            st.clock.as_ref(),
            &st.throttle,
            st.session_policy,
            &FlowPolicy::default(),
            &secret,
            code,
            previous,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(outcome) => outcome_response(&req, outcome),
        Err(CodeError::Gone) => Err(WebError::BadRequest(FACTOR_GONE.into())),
        Err(e @ CodeError::Wrong { factors }) => factor_response(
            &req,
            factors,
            StatusCode::UNAUTHORIZED,
            Some(&e.to_string()),
        ),
        Err(e @ CodeError::Malformed { factors }) => {
            factor_response(&req, factors, StatusCode::BAD_REQUEST, Some(&e.to_string()))
        }
        Err(
            e @ CodeError::Throttled {
                factors,
                retry_after,
            },
        ) => {
            let mut res = factor_response(
                &req,
                factors,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&e.to_string()),
            )?;
            res.headers_mut().insert(
                RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            Ok(res)
        }
        Err(CodeError::Totp(e)) => Err(totp_web_error(e)),
    }
}
