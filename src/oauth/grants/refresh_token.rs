//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

use super::{TokenRequest, required_credential};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::oauth::tokens::{Ctx, Extras, TokenResponse};
use crate::oauth::types::Client;
use crate::scopes::Scopes;

pub fn exchange<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = required_credential(&req.refresh_token, "refresh_token")?;
    let now = ctx.now();
    let invalid = || OAuthError::invalid_grant("the refresh token is not valid");
    let stored = ctx
        .store
        .find_refresh_token(&presented.hash())?
        .ok_or_else(invalid)?;
    let grant = ctx
        .store
        .find_grant(&stored.grant_id)?
        .ok_or_else(invalid)?;
    if grant.client_id != client.id {
        return Err(invalid());
    }
    if stored.used_at.is_some() {
        // A rotated token came back: someone holds a copy. End the whole family.
        ctx.store.revoke_grant(&grant.id, now)?;
        tracing::warn!(client_id = %client.id, "refresh token reused; the token family was revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    if grant.revoked_at.is_some()
        || grant.expires_at <= now
        || grant.last_used_at + client.refresh_idle_ttl <= now
    {
        return Err(OAuthError::invalid_grant(
            "the refresh token has expired or was revoked",
        ));
    }
    // A session-bound family ends with its session, whichever way the session ended.
    super::ensure_live_or_end(ctx, &grant)?;
    // A narrower scope narrows this access token only; the family keeps its grant (§6).
    let scope = match req.scope.as_deref() {
        None | Some("") => grant.scope.clone(),
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?;
            if !asked.is_subset(&grant.scope) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the scope exceeds what was granted",
                ));
            }
            asked
        }
    };
    // RFC 8707 §2.2: checked before the token is spent, so a client mistake costs nothing.
    resources::audience_for_grant(
        &grant.resources,
        &ctx.default_audience(),
        req.resource.as_deref().filter(|r| !r.is_empty()),
    )?;
    if !ctx.store.consume_refresh_token(&stored.token_hash, now)? {
        ctx.store.revoke_grant(&grant.id, now)?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    let user_id = grant.user_id.as_ref().ok_or_else(invalid)?;
    let user = ctx
        .store
        .find_user(user_id)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user is no longer active"))?;
    ctx.for_grant(
        client,
        &user,
        &grant,
        &scope,
        Extras {
            nonce: None,
            // RFC 8707 §2.2: only a subset of what the grant holds.
            resource: req.resource.as_deref().filter(|r| !r.is_empty()),
            with_refresh: true,
        },
    )
}
