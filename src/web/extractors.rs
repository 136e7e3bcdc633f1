//! Request extractors shared by the handlers.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{USER_AGENT, X_FORWARDED_FOR};
use actix_web::{FromRequest, HttpRequest, web};

use super::client_ip::client_ip;
use super::cookies;
use super::error::WebError;
use crate::audit::RequestMeta;
use crate::sessions::service::{self as sessions, SessionSecret};
use crate::sessions::types::CurrentSession;
use crate::web::state::AppState;

pub fn state(req: &HttpRequest) -> &web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .expect("AppState is registered on the App")
}

/// Client address (see [`client_ip`]) and user agent.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    let st = state(req);
    let forwarded: Vec<&str> = req
        .headers()
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .collect();
    RequestMeta {
        ip: client_ip(
            req.peer_addr().map(|a| a.ip()),
            &forwarded,
            &st.settings.server.trusted_proxies,
        ),
        user_agent: req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

impl FromRequest for RequestMeta {
    type Error = WebError;
    type Future = Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(request_meta(req)))
    }
}

/// The browser session cookie's value, if any.
pub fn session_secret(req: &HttpRequest) -> Option<SessionSecret> {
    let st = state(req);
    req.cookie(&cookies::name(&st.settings.server, cookies::SESSION))
        .map(|c| SessionSecret::from_cookie(c.value()))
        .filter(|s| s.expose().len() == 43)
}

/// The signed-in session, if the cookie names a live one.
pub struct MaybeSession(pub Option<CurrentSession>);

impl FromRequest for MaybeSession {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = session_secret(req);
        let st = state(req).clone();
        Box::pin(async move {
            let Some(secret) = secret else {
                return Ok(MaybeSession(None));
            };
            let found = web::block(move || {
                sessions::resolve(&st.store, st.clock.as_ref(), st.session_policy, &secret)
            })
            .await??;
            Ok(MaybeSession(found))
        })
    }
}
