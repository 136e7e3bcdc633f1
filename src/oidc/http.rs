//! OIDC endpoints: discovery, JWKS, userinfo and RP-initiated logout.

use std::borrow::Cow;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, WWW_AUTHENTICATE};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

use super::logout::{self, LogoutParams};
use super::userinfo::{self, UserinfoError};
use crate::failure::Failure;
use crate::sessions::service as sessions;
use crate::signing::JWKS_MAX_AGE;
use crate::store::StoreError;
use crate::web::cookies;
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, request_meta, session_secret, state};
use crate::web::paths::END_SESSION;
use crate::web::see_other;
use crate::web::{csrf, html};

pub async fn discovery(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state(&req).discovery.to_string())
}

pub async fn jwks(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((CACHE_CONTROL, format!("public, max-age={JWKS_MAX_AGE}")))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state(&req).keys.current().jwks_json.to_string())
}

/// An error of the userinfo resource (RFC 6750 §3): always a JSON body and a
/// `WWW-Authenticate: Bearer` challenge, never a page, whatever went wrong — a Bearer client
/// reads every answer the same way. The status is the one table's ([`Failure`]).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No token at all: the challenge carries no error code (§3.1).
    #[error("no access token")]
    Missing,
    /// §3.1 `invalid_request`: malformed, or the token sent more than one way (§2).
    #[error("{0}")]
    InvalidRequest(Cow<'static, str>),
    /// §3.1 `invalid_token`: unknown, expired, revoked, or of a disabled user.
    #[error("the access token is not valid")]
    InvalidToken,
    /// §3.1 `insufficient_scope`: userinfo needs `openid`.
    #[error("the openid scope was not granted")]
    InsufficientScope,
    /// A client error actix answered before the handler ran (405, 413): its status is kept.
    #[error("{1}")]
    Rejected(StatusCode, &'static str),
    /// The database cannot be reached: 503 with `Retry-After`, the body still JSON.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("the server could not complete the request")]
    Internal(String),
}

impl BearerError {
    fn failure(&self) -> Option<Failure> {
        Some(match self {
            BearerError::Missing | BearerError::InvalidToken => Failure::Unauthenticated,
            BearerError::InvalidRequest(_) => Failure::BadRequest,
            BearerError::InsufficientScope => Failure::Forbidden,
            BearerError::Rejected(..) => return None,
            BearerError::Unavailable => Failure::Unavailable,
            BearerError::Internal(_) => Failure::Internal,
        })
    }

    /// The `error` code: RFC 6750 §3.1's, or RFC 6749's for failures of ours.
    fn code(&self) -> &'static str {
        match self {
            BearerError::Missing | BearerError::InvalidToken => "invalid_token",
            BearerError::InvalidRequest(_) | BearerError::Rejected(..) => "invalid_request",
            BearerError::InsufficientScope => "insufficient_scope",
            BearerError::Unavailable => "temporarily_unavailable",
            BearerError::Internal(_) => "server_error",
        }
    }

    /// The challenge: the realm, and the §3.1 error code where one applies (none when no token
    /// was sent, none for a failure of ours, which no token can fix).
    fn challenge(&self) -> String {
        let realm = r#"Bearer realm="mintgate""#;
        match self {
            BearerError::Missing | BearerError::Unavailable | BearerError::Internal(_) => {
                realm.to_owned()
            }
            other => format!(
                r#"{realm}, error="{}", error_description="{}""#,
                other.code(),
                other.to_string().replace(['"', '\\'], "'")
            ),
        }
    }
}

impl From<StoreError> for BearerError {
    fn from(e: StoreError) -> Self {
        match Failure::of_store(&e) {
            Failure::BadRequest => BearerError::InvalidRequest(UNSTORABLE_TOKEN.into()),
            Failure::Unavailable => {
                tracing::warn!(error = %e, "database unavailable at userinfo");
                BearerError::Unavailable
            }
            _ => BearerError::Internal(e.to_string()),
        }
    }
}

impl From<UserinfoError> for BearerError {
    fn from(e: UserinfoError) -> Self {
        match e {
            UserinfoError::InvalidToken => BearerError::InvalidToken,
            UserinfoError::InsufficientScope => BearerError::InsufficientScope,
            UserinfoError::Store(e) => e.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for BearerError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        BearerError::Internal(e.to_string())
    }
}

/// The description when the database refused a value of the request.
const UNSTORABLE_TOKEN: &str = "the request contains a character that is not allowed";

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match (self, self.failure()) {
            (BearerError::Rejected(status, _), _) => *status,
            (_, Some(failure)) => failure.status(),
            (_, None) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let BearerError::Internal(cause) = self {
            tracing::error!(%cause, "internal error at userinfo");
        }
        let mut res = match self.failure() {
            Some(failure) => failure.response(),
            None => HttpResponse::build(self.status_code()),
        };
        res.insert_header((WWW_AUTHENTICATE, self.challenge()))
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({"error": self.code(), "error_description": self.to_string()}))
    }
}

/// Answers actix gives at userinfo before the handler runs (405 for another method, 413 for
/// a body past the limit) get the RFC 6750 JSON body and challenge like every other userinfo
/// error; headers such as `Allow` are kept.
pub async fn bearer_error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let error = if status.is_server_error() {
        BearerError::Internal(format!("{status} before the userinfo handler"))
    } else {
        BearerError::Rejected(
            status,
            status
                .canonical_reason()
                .unwrap_or("the request was not accepted"),
        )
    };
    let replacement = error.error_response();
    Ok(res.map_body(|head, _| {
        for (name, value) in replacement.headers() {
            head.headers_mut().insert(name.clone(), value.clone());
        }
        replacement.into_body()
    }))
}

#[derive(Deserialize, Default)]
struct UserinfoForm {
    access_token: Option<String>,
}

/// OIDC Core §5.3: claims of the token's user, per granted scope. Bearer header, or (POST) the
/// form body parameter of RFC 6750 §2.2.
pub async fn userinfo(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, BearerError> {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let from_body = if body.is_empty() {
        None
    } else {
        serde_urlencoded::from_bytes::<UserinfoForm>(&body)
            .ok()
            .and_then(|f| f.access_token)
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(BearerError::InvalidRequest(
                "use one method to send the token".into(),
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(BearerError::Missing),
    };
    let st = state(&req).clone();
    let claims = crate::web::read(st, move |st| {
        let keys = st.keys.current();
        userinfo::userinfo(
            &st.store,
            &keys,
            st.settings.server.issuer_str(),
            &token,
            st.session_policy,
            st.clock.now(),
        )
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(claims))
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
struct LogoutConfirmPage<'a> {
    csrf: &'a str,
    action: &'a str,
    client_name: Option<&'a str>,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "oidc/signed_out.html")]
struct SignedOutPage;

/// RP-Initiated Logout 1.0 at `end_session_endpoint` (GET or POST).
pub async fn end_session(
    req: HttpRequest,
    body: web::Bytes,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let params: LogoutParams = if req.method() == actix_web::http::Method::POST {
        serde_urlencoded::from_bytes(&body)
    } else {
        serde_urlencoded::from_str(req.query_string())
    }
    .map_err(|e| WebError::BadRequest(format!("The logout request could not be read: {e}")))?;
    let st = state(&req).clone();
    let signed_in = session
        .0
        .as_ref()
        .map(|c| (c.user.id.clone(), c.session.sid.clone()));
    let confirming = params.confirm.as_deref() == Some("yes");
    if confirming {
        csrf::verify(
            &st,
            &req,
            signed_in.as_ref().map(|(_, sid)| sid),
            params.csrf.as_deref().unwrap_or(""),
        )?;
    }
    let (st2, p2, si) = (st.clone(), params.clone(), signed_in.clone());
    let plan = web::block(move || {
        let keys = st2.keys.current();
        logout::plan(
            &st2.store,
            &keys,
            st2.settings.server.issuer_str(),
            &p2,
            si.as_ref().map(|(u, s)| (u, s)),
        )
    })
    .await??
    .map_err(|m| WebError::BadRequest(format!("This sign-out request is not valid: {m}.")))?;

    if !(plan.confirmed || confirming) && signed_in.is_some() {
        // No valid id_token_hint: ask before ending anything (RP-Initiated Logout §2).
        let sid = signed_in.as_ref().map(|(_, s)| s);
        let mut token = csrf::issue(&st, &req, sid);
        let builder = token.builder(StatusCode::OK);
        let hidden = [
            ("client_id", plan.client.as_ref().map(|c| c.id.to_string())),
            (
                "post_logout_redirect_uri",
                params.post_logout_redirect_uri.clone(),
            ),
            ("state", params.state.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let page = LogoutConfirmPage {
            csrf: &token.token,
            action: END_SESSION,
            client_name: plan.client.as_ref().map(|c| c.name.as_str()),
            hidden,
        };
        return html(builder, &page);
    }
    if let Some(secret) = session_secret(&req) {
        let meta = request_meta(&req);
        let st2 = st.clone();
        web::block(move || sessions::end(&st2.store, st2.clock.as_ref(), &secret, &meta)).await??;
    }
    let mut res = match &plan.redirect {
        Some(to) => see_other(to),
        None => html(HttpResponse::Ok(), &SignedOutPage)?,
    };
    let _ = res.add_cookie(&cookies::removal(&st.settings.server, cookies::SESSION));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::RETRY_AFTER;

    /// Userinfo takes a storage error's status from the one table, like every protocol; an
    /// outage is 503 with `Retry-After` and still a Bearer JSON answer.
    #[test]
    fn store_errors_take_the_tables_status() {
        let errors: [fn() -> StoreError; 5] = [
            || StoreError::NotFound,
            || StoreError::Conflict(crate::store::Unique::Record),
            || StoreError::Backend("x".into()),
            || StoreError::Unavailable("down".into()),
            || StoreError::Unstorable,
        ];
        for make in errors {
            let expected = Failure::of_store(&make()).status();
            assert_eq!(BearerError::from(make()).status_code(), expected);
        }
        let res = BearerError::from(StoreError::Unavailable("down".into())).error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(RETRY_AFTER).unwrap(), "5");
        let challenge = res.headers().get(WWW_AUTHENTICATE).unwrap();
        assert_eq!(challenge, r#"Bearer realm="mintgate""#);
    }

    /// RFC 6750 §3: the §3.1 code in the challenge; none when no token was sent.
    #[test]
    fn challenges() {
        assert_eq!(
            BearerError::Missing.challenge(),
            r#"Bearer realm="mintgate""#
        );
        assert_eq!(
            BearerError::InvalidToken.challenge(),
            r#"Bearer realm="mintgate", error="invalid_token", error_description="the access token is not valid""#
        );
        assert!(
            BearerError::InsufficientScope
                .challenge()
                .contains(r#"error="insufficient_scope""#)
        );
    }
}
