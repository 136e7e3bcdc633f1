//! CSRF protection for every form: a signed double-submit token. A random `mg_csrf` cookie
//! (HttpOnly, SameSite=Lax) is paired with a form field holding HMAC(key, cookie | sid), so a
//! token is useless without the victim's cookie and does not survive a change of session.
//! A present `Origin` header must also be ours (defence in depth); `Origin: null`, which
//! browsers send under our `Referrer-Policy: no-referrer`, leaves the decision to the token.
//!
//! Handlers receive forms through [`CsrfForm`], which checks the token before the handler runs.

use std::pin::Pin;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::ORIGIN;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use super::cookies;
use super::error::WebError;
use super::extractors::{SignInRequired, current_session, state};
use crate::crypto;
use crate::ids::Sid;
use crate::web::state::AppState;

/// A token for a form, and the cookie to set when the browser had none.
pub struct CsrfToken {
    pub token: String,
    pub cookie: Option<Cookie<'static>>,
}

impl CsrfToken {
    /// A response builder that also sets the CSRF cookie when the browser had none.
    pub fn builder(&mut self, status: StatusCode) -> HttpResponseBuilder {
        let mut builder = HttpResponse::build(status);
        if let Some(cookie) = self.cookie.take() {
            builder.cookie(cookie);
        }
        builder
    }
}

fn sign(state: &AppState, cookie_value: &str, sid: Option<&Sid>) -> String {
    let message = format!("{cookie_value}|{}", sid.map_or("", Sid::as_str));
    URL_SAFE_NO_PAD.encode(crypto::hmac_sha256(&state.csrf_key, message.as_bytes()))
}

fn cookie_value(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(&cookies::name(&state.settings.server, cookies::CSRF))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
}

/// The token for a CSRF cookie the response being built sets (a page that issued a token with
/// a fresh cookie): the navigation's sign-out form must match that cookie, not the request's.
pub fn token_for_cookie(state: &AppState, cookie_value: &str, sid: Option<&Sid>) -> String {
    sign(state, cookie_value, sid)
}

pub fn issue(state: &AppState, req: &HttpRequest, sid: Option<&Sid>) -> CsrfToken {
    match cookie_value(state, req) {
        Some(value) => CsrfToken {
            token: sign(state, &value, sid),
            cookie: None,
        },
        None => {
            let value = crypto::random_token();
            let token = sign(state, &value, sid);
            CsrfToken {
                token,
                cookie: Some(cookies::build(&state.settings.server, cookies::CSRF, value)),
            }
        }
    }
}

pub fn verify(
    state: &AppState,
    req: &HttpRequest,
    sid: Option<&Sid>,
    submitted: &str,
) -> Result<(), WebError> {
    if let Some(origin) = req.headers().get(ORIGIN) {
        let ours = state.settings.server.issuer.origin().ascii_serialization();
        if origin.as_bytes() != b"null" && origin.as_bytes() != ours.as_bytes() {
            return Err(WebError::Csrf);
        }
    }
    let value = cookie_value(state, req).ok_or(WebError::Csrf)?;
    let expected = sign(state, &value, sid);
    if crypto::ct_eq(expected.as_bytes(), submitted.as_bytes()) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// A form that carries a CSRF token in a `csrf` field.
pub trait CsrfProtected {
    /// Whether the token is bound to the browser's session (its `sid`, none when signed out).
    /// Every form is, except sign-in's: its token is issued and checked without a session, so
    /// a signed-in user re-authenticating (`prompt=login`, `max_age`) posts the same form.
    const SESSION_BOUND: bool = true;

    /// The submitted token.
    fn csrf(&self) -> &str;
}

/// A urlencoded form `T` whose CSRF token was checked: read once, with the application's form
/// rules (size limit, content type, the 400/413 pages), then verified as [`verify`] does,
/// bound to the session when `T` is [`CsrfProtected::SESSION_BOUND`]. A refused token is a 403
/// page ([`WebError::Csrf`]); the handler never sees the form.
///
/// With a [`SignedIn`](super::extractors::SignedIn) on the same handler, a request without a
/// session gets the page's signed-out answer before the form is read.
pub struct CsrfForm<T>(pub T);

impl<T> CsrfForm<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + CsrfProtected + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Takes the body now; it is read only when the session (if needed) is known.
        let form = web::Form::<T>::from_request(req, payload);
        let session = T::SESSION_BOUND.then(|| current_session(req));
        let req = req.clone();
        Box::pin(async move {
            let sid = match session {
                Some(lookup) => match lookup.await? {
                    Some(current) => Some(current.session.sid),
                    None => {
                        if let Some(required) = SignInRequired::of(&req) {
                            return Err(required.answer(&req));
                        }
                        None
                    }
                },
                None => None,
            };
            let form = form.await?.into_inner();
            verify(state(&req), &req, sid.as_ref(), form.csrf())?;
            Ok(CsrfForm(form))
        })
    }
}
