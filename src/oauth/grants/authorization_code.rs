//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).

use super::{TokenRequest, required_credential};
use crate::oauth::error::OAuthError;
use crate::oauth::pkce;
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::oauth::tokens::{Ctx, Extras, TokenResponse, issues_refresh};
use crate::oauth::types::Client;

pub fn exchange<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = required_credential(&req.code, "code")?;
    let now = ctx.now();
    let stored = ctx
        .store
        .find_code(&code.hash())?
        .ok_or_else(|| OAuthError::invalid_grant("the authorization code is not valid"))?;
    if stored.used_at.is_some() {
        // Replay: the code may have leaked. Revoke what the first redemption got (§4.1.2).
        ctx.store.revoke_grant(&stored.grant_id, now)?;
        tracing::warn!(client_id = %client.id, "authorization code reused; its grant was revoked");
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used",
        ));
    }
    if stored.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if stored.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if req.redirect_uri.as_deref() != Some(stored.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&stored.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is an attack sign.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    // RFC 8707 §2.2: the token request may only narrow what the authorization named (bound to
    // the code and its grant); checked before the code is spent.
    let granted: Vec<String> = stored.resource.iter().cloned().collect();
    resources::audience_for_grant(
        &granted,
        &ctx.default_audience(),
        req.resource.as_deref().filter(|r| !r.is_empty()),
    )?;
    if !ctx.store.consume_code(&stored.code_hash, now)? {
        ctx.store.revoke_grant(&stored.grant_id, now)?;
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used",
        ));
    }
    // A grant revoked since the code was issued (sign-out, logout, consent revocation) yields
    // nothing; one revoked from here on is caught by `for_grant` after minting.
    let grant = ctx
        .store
        .find_grant(&stored.grant_id)?
        .ok_or_else(|| OAuthError::invalid_grant("the authorization was revoked"))?;
    super::ensure_live_or_end(ctx, &grant)?;
    let user_id = grant
        .user_id
        .as_ref()
        .ok_or_else(OAuthError::server_error)?;
    let user = ctx
        .store
        .find_user(user_id)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user is no longer active"))?;
    let with_refresh = issues_refresh(client, &stored.scope);
    ctx.for_grant(
        client,
        &user,
        &grant,
        &stored.scope,
        Extras {
            nonce: stored.nonce.as_deref(),
            // The grant holds what the authorization request named (RFC 8707); the token
            // request may narrow it.
            resource: req.resource.as_deref().filter(|r| !r.is_empty()),
            with_refresh,
        },
    )
}
