//! CSRF protection for every form: a signed double-submit token. A random `mg_csrf` cookie
//! (HttpOnly, SameSite=Lax) is paired with a form field holding HMAC(key, cookie | sid), so a
//! token is useless without the victim's cookie and does not survive a change of session.
//! A present `Origin` header must also be ours (defence in depth); `Origin: null`, which
//! browsers send under our `Referrer-Policy: no-referrer`, leaves the decision to the token.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::ORIGIN;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::cookies;
use super::error::WebError;
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
