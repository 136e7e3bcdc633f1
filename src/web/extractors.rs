//! Request extractors shared by the handlers: the client's address, and the browser session,
//! looked up once per request whichever extractors ask for it ([`MaybeSession`], [`SignedIn`]
//! and [`CsrfForm`](super::csrf::CsrfForm)).

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::header::{USER_AGENT, X_FORWARDED_FOR};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tokio::sync::OnceCell;

use super::client_ip::client_ip;
use super::cookies;
use super::error::WebError;
use super::paths::LOGIN;
use super::{login_redirect, see_other};
use crate::accounts::types::User;
use crate::audit::RequestMeta;
use crate::clock::UnixTime;
use crate::ids::Sid;
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
        org: None,
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

/// The pending sign-in's id the browser holds, if any (see `crate::flows`).
pub fn flow_secret(req: &HttpRequest) -> Option<crate::credentials::PlainFlowId> {
    let st = state(req);
    req.cookie(&cookies::name(&st.settings.server, cookies::FLOW))
        .map(|c| crate::credentials::PlainFlowId::new(c.value()))
        .filter(|s| s.expose().len() == 43)
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The session lookup of one request, kept in its extensions: however many extractors ask,
/// the cookie is resolved (and the session's activity written) once.
#[derive(Clone, Default)]
struct SessionLookup(Rc<OnceCell<Option<CurrentSession>>>);

/// The live session the request's cookie names, if any (see [`sessions::resolve`]).
pub(crate) fn current_session(
    req: &HttpRequest,
) -> LocalFuture<Result<Option<CurrentSession>, WebError>> {
    let lookup = {
        let mut extensions = req.extensions_mut();
        match extensions.get::<SessionLookup>() {
            Some(lookup) => lookup.clone(),
            None => {
                let lookup = SessionLookup::default();
                extensions.insert(lookup.clone());
                lookup
            }
        }
    };
    let secret = session_secret(req);
    let st = state(req).clone();
    Box::pin(async move {
        let found = lookup
            .0
            .get_or_try_init(|| async move {
                let Some(secret) = secret else {
                    return Ok(None);
                };
                let found = web::block(move || {
                    sessions::resolve(&st.store, st.clock.as_ref(), st.session_policy, &secret)
                })
                .await??;
                Ok::<_, WebError>(found)
            })
            .await?;
        Ok(found.clone())
    })
}

/// The session this request's handler looked up (by any extractor), if it did and found one;
/// never a lookup of its own (see [`crate::web::nav`]).
pub(crate) fn looked_up_session(req: &HttpRequest) -> Option<CurrentSession> {
    req.extensions()
        .get::<SessionLookup>()
        .and_then(|lookup| lookup.0.get().cloned().flatten())
}

/// The signed-in session, if the cookie names a live one: for pages that also serve signed-out
/// visitors (sign-in, the authorization endpoint, RP-initiated logout).
pub struct MaybeSession(pub Option<CurrentSession>);

impl FromRequest for MaybeSession {
    type Error = WebError;
    type Future = LocalFuture<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let lookup = current_session(req);
        Box::pin(async move { Ok(MaybeSession(lookup.await?)) })
    }
}

/// What a page answers a request that has no live session.
pub enum SignedOutAnswer {
    /// The sign-in page, coming back to this same-origin path afterwards; without one, the
    /// sign-in page's own default (the account page).
    SignIn(Option<String>),
    /// An error page: the request made sense only in the session that ended.
    Refuse(WebError),
}

/// Chooses a page's [`SignedOutAnswer`]; the type parameter of [`SignedIn`].
pub trait SignedOut {
    fn answer(req: &HttpRequest) -> SignedOutAnswer;
}

/// The default answer: sign in, then come back to the requested path.
pub struct BackHere;

impl SignedOut for BackHere {
    fn answer(req: &HttpRequest) -> SignedOutAnswer {
        SignedOutAnswer::SignIn(Some(req.path().to_owned()))
    }
}

fn signed_out<A: SignedOut>(req: &HttpRequest) -> actix_web::Error {
    match A::answer(req) {
        SignedOutAnswer::SignIn(Some(return_to)) => {
            InternalError::from_response("sign-in required", login_redirect(&return_to)).into()
        }
        SignedOutAnswer::SignIn(None) => {
            InternalError::from_response("sign-in required", see_other(LOGIN)).into()
        }
        SignedOutAnswer::Refuse(e) => e.into(),
    }
}

/// Set by [`SignedIn`] on its request, so that a [`CsrfForm`](super::csrf::CsrfForm) of the same
/// handler gives the signed-out answer rather than a CSRF refusal, whatever order the handler
/// lists them in.
#[derive(Clone, Copy)]
pub(crate) struct SignInRequired(fn(&HttpRequest) -> actix_web::Error);

impl SignInRequired {
    pub(crate) fn of(req: &HttpRequest) -> Option<Self> {
        req.extensions().get::<SignInRequired>().copied()
    }

    pub(crate) fn answer(self, req: &HttpRequest) -> actix_web::Error {
        (self.0)(req)
    }
}

/// A page for signed-in users only: the handler gets the live session, and a request without
/// one gets the page's [`SignedOut`] answer (by default: sign in, then back to this path).
///
/// This is the one place a page's session requirement is checked, so it is where step-up
/// authentication (MFA: asking for a second factor, or a fresh one, before a sensitive page)
/// plugs in: the session's [`amr`](Self::amr) and [`auth_time`](Self::auth_time) are what such
/// a rule reads.
///
/// Requests on a form: the session is looked up first, so a signed-out visitor is sent to sign
/// in whatever they posted; then the form is read; then its CSRF token is checked.
pub struct SignedIn<A: SignedOut = BackHere> {
    current: CurrentSession,
    answer: PhantomData<fn() -> A>,
}

impl<A: SignedOut> SignedIn<A> {
    pub fn user(&self) -> &User {
        &self.current.user
    }

    /// The session's public id (OIDC `sid`); CSRF tokens are bound to it.
    pub fn sid(&self) -> &Sid {
        &self.current.session.sid
    }

    /// How the user authenticated in this session (RFC 8176 values).
    pub fn amr(&self) -> &[String] {
        &self.current.session.amr
    }

    /// When the user last authenticated (OIDC `auth_time`).
    pub fn auth_time(&self) -> UnixTime {
        self.current.session.auth_time
    }

    pub fn session(&self) -> &CurrentSession {
        &self.current
    }

    pub fn into_session(self) -> CurrentSession {
        self.current
    }
}

impl<A: SignedOut + 'static> FromRequest for SignedIn<A> {
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        req.extensions_mut().insert(SignInRequired(signed_out::<A>));
        let lookup = current_session(req);
        let req = req.clone();
        Box::pin(async move {
            match lookup.await? {
                Some(current) => Ok(SignedIn {
                    current,
                    answer: PhantomData,
                }),
                None => Err(signed_out::<A>(&req)),
            }
        })
    }
}
