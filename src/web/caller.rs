//! The `/v1` caller as an extractor: every `/v1` handler takes a [`Caller`] and so never sees an
//! unauthenticated request. This file only reads the request — `Authorization: Bearer`, or the
//! legacy `?api_key=` query parameter, and the client address — and hands them to the one
//! resolution in [`crate::apikeys::caller::resolve`]. Answers to a request authenticated through
//! `?api_key=` say it is deprecated (RFC 9745), added by [`deprecation_headers`] on the `/v1`
//! scope.

use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::extractors::{request_meta, state};
pub use crate::apikeys::caller::Caller;
use crate::apikeys::caller::{CallerCtx, Credential, resolve};
use crate::v1::error::V1Error;

/// When the query-parameter form was deprecated (RFC 9745 `Deprecation: @<epoch>`).
pub const LEGACY_DEPRECATED_AT: i64 = 1_735_689_600;
pub const LEGACY_DOCS: &str = "/docs/api#authentication";

/// Left in the request's extensions when its caller came through `?api_key=`.
#[derive(Clone, Copy)]
struct LegacyAuthenticated;

fn bearer(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

fn query_key(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "api_key")
        .map(|(_, v)| v.into_owned())
}

/// The credential of the request: the `Authorization` header wins; `?api_key=` counts only
/// where the server still accepts it.
fn credential(req: &HttpRequest, legacy_allowed: bool) -> Option<Credential> {
    match (bearer(req), query_key(req)) {
        (Some(t), _) => Some(Credential::Bearer(t)),
        (None, Some(k)) if legacy_allowed => Some(Credential::LegacyQuery(k)),
        _ => None,
    }
}

impl FromRequest for Caller {
    type Error = V1Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, V1Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let st = state(req).clone();
        let ip = request_meta(req).ip;
        let credential = credential(req, st.settings.api_keys.legacy_query);
        let req = req.clone();
        Box::pin(async move {
            let credential = credential.ok_or(V1Error::Unauthorized)?;
            let caller = crate::web::read(st, move |st| {
                let ctx = CallerCtx {
                    store: &st.store,
                    key_format: &st.key_format,
                    key_usage: &st.key_usage,
                    keys: &st.keys,
                    server: &st.settings.server,
                    oauth: &st.settings.oauth,
                    session_policy: st.session_policy,
                };
                resolve(&ctx, credential, ip, st.clock.now())
            })
            .await??;
            if caller.legacy {
                req.extensions_mut().insert(LegacyAuthenticated);
            }
            Ok(caller)
        })
    }
}

/// Adds the RFC 9745 `Deprecation` and `Link: rel="deprecation"` headers to the successful
/// answers of a request authenticated through `?api_key=` (errors are answered as before).
pub async fn deprecation_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut res = next.call(req).await?.map_into_boxed_body();
    let legacy = res
        .request()
        .extensions()
        .get::<LegacyAuthenticated>()
        .is_some();
    if legacy && res.response().error().is_none() {
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("@{LEGACY_DEPRECATED_AT}")) {
            h.insert(HeaderName::from_static("deprecation"), v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("<{LEGACY_DOCS}>; rel=\"deprecation\"")) {
            h.insert(header::LINK, v);
        }
    }
    Ok(res)
}
