//! Sign-in, account and sign-out pages.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::service::{self, SignInError};
use super::types::{Membership, User};
use crate::audit::RequestMeta;
use crate::oauth::types::ConsentRecord;
use crate::sessions::service as sessions;
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, session_secret, state};
use crate::web::paths::{ACCOUNT, CONSENTS_REVOKE, LOGIN, LOGOUT};
use crate::web::see_other;
use crate::web::{cookies, csrf, html};

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

/// `/login?return_to=...` for a page that needs a signed-in user.
pub fn login_redirect(return_to: &str) -> HttpResponse {
    login_redirect_with(return_to, false, None)
}

/// The same, forcing the form even when signed in (`prompt=login`, `max_age`) and pre-filling
/// the login (`login_hint`).
pub fn login_redirect_with(
    return_to: &str,
    reauth: bool,
    login_hint: Option<&str>,
) -> HttpResponse {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if reauth {
        query.append_pair("reauth", "1");
    }
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    see_other(&format!("{LOGIN}?{}", query.finish()))
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    login: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    reauth: Option<String>,
    login_hint: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    password: SecretString,
    return_to: Option<String>,
}

fn login_response(
    req: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    login: &str,
    error: Option<&str>,
    retry_after: Option<u64>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
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
            login,
            error,
        },
    )
}

pub async fn login_page(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let return_to = safe_return_to(query.return_to.as_deref());
    if session.0.is_some() && query.reauth.is_none() {
        return Ok(see_other(&return_to));
    }
    let hint: String = query
        .login_hint
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(254)
        .collect();
    login_response(&req, StatusCode::OK, &return_to, &hint, None, None)
}

pub async fn login_submit(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    csrf::verify(&st, &req, None, &form.csrf)?;
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let previous = session_secret(&req);
    let login = form.login.clone();
    let result = web::block(move || -> Result<_, SignInError> {
        let clock = st.clock.as_ref();
        let user = service::sign_in(
            &st.store,
            &st.hasher,
            clock,
            &st.throttle,
            &form.login,
            &form.password,
            &meta,
        )?;
        // A fresh session id at every sign-in: a planted cookie never becomes authenticated.
        if let Some(previous) = previous {
            crate::sessions::store::SessionStore::delete_session(
                &st.store,
                &previous.hash(),
                clock.now(),
            )?;
        }
        let (secret, _) =
            sessions::start(&st.store, clock, st.session_policy, &user, &["pwd"], &meta)?;
        Ok(secret)
    })
    .await?;
    let st = state(&req);
    match result {
        Ok(secret) => Ok(HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, return_to))
            .cookie(cookies::build(
                &st.settings.server,
                cookies::SESSION,
                secret.expose().to_owned(),
            ))
            .finish()),
        Err(e @ SignInError::Invalid) => login_response(
            &req,
            StatusCode::UNAUTHORIZED,
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

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage<'a> {
    csrf: &'a str,
    user: &'a User,
    memberships: &'a [Membership],
    consents: &'a [ConsentRecord],
    logout: &'a str,
    revoke_consent: &'a str,
}

pub async fn account_page(
    req: HttpRequest,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let Some(current) = session.0 else {
        return Ok(login_redirect(ACCOUNT));
    };
    let st = state(&req).clone();
    let user_id = current.user.id.clone();
    let (memberships, consents) = web::block(move || {
        Ok::<_, crate::store::StoreError>((
            crate::accounts::store::UserStore::memberships(&st.store, &user_id)?,
            crate::oauth::store::ConsentStore::list_consents(&st.store, &user_id)?,
        ))
    })
    .await??;
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(&current.session.sid));
    let builder = token.builder(StatusCode::OK);
    html(
        builder,
        &AccountPage {
            csrf: &token.token,
            user: &current.user,
            memberships: &memberships,
            consents: &consents,
            logout: LOGOUT,
            revoke_consent: CONSENTS_REVOKE,
        },
    )
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    req: HttpRequest,
    form: web::Form<LogoutForm>,
    session: MaybeSession,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let sid = session.0.as_ref().map(|c| c.session.sid.clone());
    csrf::verify(&st, &req, sid.as_ref(), &form.csrf)?;
    if let Some(secret) = session_secret(&req) {
        let st2 = st.clone();
        web::block(move || sessions::end(&st2.store, st2.clock.as_ref(), &secret, &meta)).await??;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, LOGIN))
        .cookie(cookies::removal(&st.settings.server, cookies::SESSION))
        .finish())
}
