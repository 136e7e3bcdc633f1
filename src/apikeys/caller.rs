//! Who is calling `/v1`: the one resolution of a presented credential — an API key, or an OAuth
//! access token minted for mintgate itself — into the [`Principal`] it acts as. Plain Rust over
//! the stores; the actix extractor (`crate::web::caller`) only reads the credential, the client
//! address and the clock, and calls [`resolve`].

use std::net::IpAddr;

use super::service::{self, ApiKeyError, KeyFormat, Principal, UsageLog};
use super::store::ApiKeyStore;
use super::types::ApiKey;
use crate::clock::UnixTime;
use crate::config::{OAuthSettings, ServerSettings};
use crate::oauth::grants::{self, GrantEnded};
use crate::oauth::introspect::{self, TokenKind};
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::sessions::service::SessionPolicy;
use crate::signing::Keys;

/// A credential as presented.
#[derive(Debug)]
pub enum Credential {
    /// `Authorization: Bearer <API key or OAuth access token>` (RFC 6750 §2.1).
    Bearer(String),
    /// The deprecated `?api_key=` query parameter: API keys only, never an access token (a URL
    /// ends up in logs and `Referer`s).
    LegacyQuery(String),
}

/// An authenticated `/v1` caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The API key presented; `None` for an OAuth access token.
    pub key: Option<ApiKey>,
    /// Authenticated through `?api_key=`: answers say it is deprecated (RFC 9745).
    pub legacy: bool,
    /// When the presented credential itself stops working. For an access token that is its own
    /// expiry, while `principal.expires_at` is its grant's (what keys it creates may reach).
    pub expires_at: Option<UnixTime>,
}

/// What resolving a caller reads, borrowed from the application state.
pub struct CallerCtx<'a, S> {
    pub store: &'a S,
    pub key_format: &'a KeyFormat,
    pub key_usage: &'a UsageLog,
    pub keys: &'a Keys,
    /// The issuer, and mintgate's own audience, of the access tokens accepted here.
    pub server: &'a ServerSettings,
    pub oauth: &'a OAuthSettings,
    pub session_policy: SessionPolicy,
}

/// Resolves a presented credential. An API key must verify (known, live, its creator still a
/// member, `client_ip` in its allowlist) and, through `?api_key=`, its organisation must still
/// accept that form. An access token must be active, of mintgate's own audience (RFC 8707,
/// RFC 9068 §4), of an enabled user, and its grant live by the rule refresh applies. Anything
/// else is [`ApiKeyError::Invalid`]; storage failures are [`ApiKeyError::Store`].
pub fn resolve<S: ApiKeyStore + OAuthStore>(
    ctx: &CallerCtx<'_, S>,
    credential: Credential,
    client_ip: Option<IpAddr>,
    now: UnixTime,
) -> Result<Caller, ApiKeyError> {
    let (token, legacy) = match credential {
        Credential::Bearer(t) => (t, false),
        Credential::LegacyQuery(k) => (k, true),
    };
    if ctx.key_format.looks_like_key(&token) {
        let (principal, key) = service::verify(
            ctx.store,
            ctx.key_format,
            ctx.key_usage,
            &token,
            client_ip,
            now,
        )?;
        if legacy && !principal.legacy_query {
            // Switched off for this organisation.
            return Err(ApiKeyError::Invalid);
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
        return Err(ApiKeyError::Invalid);
    }
    let keys = ctx.keys.current();
    let found = introspect::inspect(ctx.store, &keys, ctx.server.issuer_str(), &token, now)?;
    let Some(t) = found.filter(|t| t.kind == TokenKind::Access) else {
        return Err(ApiKeyError::Invalid);
    };
    // Only tokens minted for mintgate itself: one issued for a client's own resource server
    // (RFC 8707) is that server's to accept, and must not be replayable here (RFC 9068 §4:
    // the audience must identify this resource server).
    if !t
        .audience
        .as_deref()
        .is_some_and(|aud| resources::is_default_audience(ctx.server, ctx.oauth, aud))
    {
        return Err(ApiKeyError::Invalid);
    }
    let user_id = t.user_id.as_deref().ok_or(ApiKeyError::Invalid)?;
    let user = ctx.store.find_user(user_id)?.filter(|u| !u.disabled);
    if user.is_none() {
        return Err(ApiKeyError::Invalid);
    }
    // The grant must be live by the rule refresh applies: a session-bound token ends with
    // its session (idle or absolute expiry, sign-out), not with its own expiry. A token
    // acts for its grant: keys it creates may live as long as the grant (the refresh
    // family), not just the hour of this access token.
    let lifetime = match &t.grant_id {
        Some(gid) => {
            let grant = ctx.store.find_grant(gid)?.ok_or(ApiKeyError::Invalid)?;
            match grants::ensure_live(ctx.store, ctx.session_policy, &grant, now) {
                Ok(()) => {}
                Err(GrantEnded::Store(e)) => return Err(e.into()),
                Err(_) => return Err(ApiKeyError::Invalid),
            }
            grant.expires_at
        }
        None => t.expires_at,
    };
    let principal = service::principal_for_user(ctx.store, user_id, &t.scope, lifetime)?;
    Ok(Caller {
        principal,
        key: None,
        legacy,
        expires_at: Some(t.expires_at),
    })
}

