//! The token endpoint's grants, one file each, behind one dispatch.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use serde::Deserialize;

use super::OAuthStore;
use super::error::{ErrorCode, OAuthError};
use super::tokens::{Ctx, TokenResponse};
use super::types::{Client, Grant, GrantType};

/// The token request's parameters (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4; RFC 8707).
/// Client credentials are handled before this, by [`super::clients::authenticate`].
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub device_code: Option<String>,
    pub resource: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

pub fn required<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is missing")))
}

/// Whether this grant only reads the store: `client_credentials` with JWT access tokens (no
/// grant, no stored token). The token endpoint answers those without the blocking pool.
pub fn writes_nothing(client: &Client, grant_type: Option<&str>) -> bool {
    grant_type == Some(GrantType::ClientCredentials.as_str())
        && client.access_token_format == super::types::TokenFormat::Jwt
}

/// `error_description` when the grant was revoked or has expired.
pub const GRANT_ENDED: &str = "the authorization was revoked or has expired";

/// A grant may issue tokens only while it is unrevoked and unexpired and, when it is bound to a
/// browser session (no `offline_access`), while that session lives: it exists, is neither idle
/// nor past its absolute lifetime, and its user is not disabled. A session found ended ends the
/// grant as sign-out would (its pruning may not have run yet).
pub(crate) fn ensure_live<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    grant: &Grant,
) -> Result<(), OAuthError> {
    let now = ctx.now();
    if grant.revoked_at.is_some() || grant.expires_at <= now {
        return Err(OAuthError::invalid_grant(GRANT_ENDED));
    }
    let Some(sid) = &grant.sid else {
        return Ok(());
    };
    match ctx.store.find_session_by_sid(sid)? {
        Some(s) if ctx.session_policy().is_live(&s.session, now) => {
            if s.user.disabled {
                return Err(OAuthError::invalid_grant("the user is no longer active"));
            }
            Ok(())
        }
        _ => {
            ctx.store.revoke_grant(&grant.id, now)?;
            Err(OAuthError::invalid_grant(
                "the session this authorization was bound to has ended",
            ))
        }
    }
}

pub fn exchange<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let raw = required(&req.grant_type, "grant_type")?;
    let grant: GrantType = raw.parse().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant type `{raw}` is not supported"),
        )
    })?;
    if !client.allows(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use {}", grant.as_str()),
        ));
    }
    match grant {
        GrantType::AuthorizationCode => authorization_code::exchange(ctx, client, req),
        GrantType::RefreshToken => refresh_token::exchange(ctx, client, req),
        GrantType::ClientCredentials => client_credentials::exchange(ctx, client, req),
        GrantType::DeviceCode => device_code::exchange(ctx, client, req),
    }
}
