//! Who is calling `/v1`: `Authorization: Bearer <API key or OAuth access token>`, or the legacy
//! `?api_key=` query parameter (API keys only; answered with RFC 9745 `Deprecation`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::error::V1Error;
use crate::apikeys::service::{self, Principal};
use crate::apikeys::types::ApiKey;
use crate::oauth::grants::{self, GrantEnded};
use crate::oauth::introspect::{self, TokenKind};
use crate::oauth::resources;
use crate::web::extractors::{request_meta, state};

/// When the query-parameter form was deprecated (RFC 9745 `Deprecation: @<epoch>`).
pub const LEGACY_DEPRECATED_AT: i64 = 1_735_689_600;
pub const LEGACY_DOCS: &str = "/docs/api#authentication";

pub struct Caller {
    pub principal: Principal,
    pub key: Option<ApiKey>,
    pub legacy: bool,
    /// When the presented credential itself stops working. For an access token that is its own
    /// expiry, while `principal.expires_at` is its grant's (what keys it creates may reach).
    pub expires_at: Option<crate::clock::UnixTime>,
}

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

pub async fn authenticate(req: &HttpRequest) -> Result<Caller, V1Error> {
    let st = state(req).clone();
    let ip = request_meta(req).ip;
    let (token, legacy) = match (bearer(req), query_key(req)) {
        (Some(t), _) => (t, false),
        (None, Some(k)) if st.settings.api_keys.legacy_query => (k, true),
        _ => return Err(V1Error::Unauthorized),
    };
    crate::web::read(st, move |st| -> Result<Caller, V1Error> {
        let now = st.clock.now();
        if st.key_format.looks_like_key(&token) {
            let (principal, key) =
                service::verify(&st.store, &st.key_format, &st.key_usage, &token, ip, now)?;
            if legacy && !principal.legacy_query {
                // Switched off for this organisation.
                return Err(V1Error::Unauthorized);
            }
            return Ok(Caller {
                expires_at: principal.expires_at,
                principal,
                key: Some(key),
                legacy,
            });
        }
        if legacy {
            // OAuth access tokens never travel in a URL.
            return Err(V1Error::Unauthorized);
        }
        let keys = st.keys.current();
        let found = introspect::inspect(
            &st.store,
            &keys,
            st.settings.server.issuer_str(),
            &token,
            now,
        )?;
        let Some(t) = found.filter(|t| t.kind == TokenKind::Access) else {
            return Err(V1Error::Unauthorized);
        };
        // Only tokens minted for mintgate itself: one issued for a client's own resource server
        // (RFC 8707) is that server's to accept, and must not be replayable here (RFC 9068 §4:
        // the audience must identify this resource server).
        if !t.audience.as_deref().is_some_and(|aud| {
            resources::is_default_audience(&st.settings.server, &st.settings.oauth, aud)
        }) {
            return Err(V1Error::Unauthorized);
        }
        let user_id = t.user_id.as_deref().ok_or(V1Error::Unauthorized)?;
        let user = crate::accounts::store::UserStore::find_user(&st.store, user_id)?
            .filter(|u| !u.disabled);
        if user.is_none() {
            return Err(V1Error::Unauthorized);
        }
        // The grant must be live by the rule refresh applies: a session-bound token ends with
        // its session (idle or absolute expiry, sign-out), not with its own expiry. A token
        // acts for its grant: keys it creates may live as long as the grant (the refresh
        // family), not just the hour of this access token.
        let lifetime = match &t.grant_id {
            Some(gid) => {
                let grant = crate::oauth::store::GrantStore::find_grant(&st.store, gid)?
                    .ok_or(V1Error::Unauthorized)?;
                match grants::ensure_live(&st.store, st.session_policy, &grant, now) {
                    Ok(()) => {}
                    Err(GrantEnded::Store(e)) => return Err(e.into()),
                    Err(_) => return Err(V1Error::Unauthorized),
                }
                grant.expires_at
            }
            None => t.expires_at,
        };
        let principal = service::principal_for_user(&st.store, user_id, &t.scope, lifetime)?;
        Ok(Caller {
            principal,
            key: None,
            legacy,
            expires_at: Some(t.expires_at),
        })
    })
    .await?
}

/// Adds the deprecation headers to answers to a legacy-authenticated request.
pub fn finish(caller: &Caller, mut res: HttpResponse) -> HttpResponse {
    if caller.legacy {
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("@{LEGACY_DEPRECATED_AT}")) {
            h.insert(header::HeaderName::from_static("deprecation"), v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("<{LEGACY_DOCS}>; rel=\"deprecation\"")) {
            h.insert(header::LINK, v);
        }
    }
    res
}
