//! `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients only, never a refresh
//! token (§4.4.3), no user scopes.

use super::TokenRequest;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::oauth::tokens::{Ctx, TokenResponse};
use crate::oauth::types::{Client, SCOPE_GROUPS, SCOPE_OFFLINE, SCOPE_OPENID};
use crate::scopes::Scopes;

/// Scopes that describe a user; meaningless without one.
const USER_SCOPES: [&str; 5] = [
    SCOPE_OPENID,
    SCOPE_OFFLINE,
    SCOPE_GROUPS,
    "profile",
    "email",
];

pub fn exchange<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let allowed = USER_SCOPES
        .iter()
        .fold(client.scopes.clone(), |s, u| s.without(u));
    let scope = match req.scope.as_deref() {
        None | Some("") => allowed,
        Some(s) => {
            let asked = Scopes::parse(s)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?;
            if !asked.is_subset(&allowed) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the scope exceeds what this client may ask",
                ));
            }
            asked
        }
    };
    let audience = resources::audience_for_client(
        client,
        &ctx.default_audience(),
        req.resource.as_deref().filter(|r| !r.is_empty()),
    )?;
    // An organisation's client acts in its organisation (`org_id` in its tokens).
    let org = match &client.org_id {
        Some(org) => ctx.store.find_org_by_id(org)?,
        None => None,
    };
    let (access_token, expires_in) =
        ctx.access_token(client, None, None, &scope, audience, org.as_ref())?;
    Ok(TokenResponse {
        access_token: access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in,
        refresh_token: None,
        scope: scope.to_string(),
        id_token: None,
    })
}
