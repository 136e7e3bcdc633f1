//! The token endpoint's grants, one file each, behind one dispatch.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use serde::Deserialize;

use super::error::{ErrorCode, OAuthError};
use super::tokens::{Ctx, TokenResponse};
use super::types::{Client, Grant, GrantType};
use crate::accounts::store::UserStore;
use crate::authn;
use crate::clock::UnixTime;
use crate::credentials::{
    Kind, Plain, PlainAuthCode, PlainClientSecret, PlainDeviceCode, PlainRefreshToken,
};
use crate::mfa::store::FactorStore;
use crate::oauth::store::OAuthStore;
use crate::sessions::service::SessionPolicy;
use crate::sessions::store::SessionStore;
use crate::store::StoreError;

/// The token request's parameters (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4; RFC 8707).
/// Client credentials are handled before this, by [`super::clients::authenticate`]. The
/// credentials it carries are [`Plain`] values: its `Debug` never shows them.
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<PlainAuthCode>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<PlainRefreshToken>,
    pub scope: Option<String>,
    pub device_code: Option<PlainDeviceCode>,
    pub resource: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<PlainClientSecret>,
}

pub fn required<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

/// [`required`] for a credential parameter (`code`, `refresh_token`, `device_code`).
pub fn required_credential<'a, K: Kind>(
    value: &'a Option<Plain<K>>,
    name: &'static str,
) -> Result<&'a Plain<K>, OAuthError> {
    value
        .as_ref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

fn missing(name: &'static str) -> OAuthError {
    OAuthError::invalid_request(format!("the {name} parameter is missing"))
}

/// Whether this grant only reads the store: `client_credentials` with JWT access tokens (no
/// grant, no stored token). The token endpoint answers those without the blocking pool.
pub fn writes_nothing(client: &Client, grant_type: Option<&str>) -> bool {
    grant_type.and_then(|g| g.parse().ok()) == Some(GrantType::ClientCredentials)
        && client.access_token_format == super::types::TokenFormat::Jwt
}

/// `error_description` when the grant was revoked or has expired.
pub const GRANT_ENDED: &str = "the authorization was revoked or has expired";

/// Why a grant may no longer be used.
#[derive(Debug, thiserror::Error)]
pub enum GrantEnded {
    #[error("the authorization was revoked or has expired")]
    RevokedOrExpired,
    #[error("the session this authorization was bound to has ended")]
    SessionEnded,
    #[error("the user is no longer active")]
    UserInactive,
    /// The grant was made in an organisation the user is no longer a member of.
    #[error("the user is no longer a member of the organization of this authorization")]
    NotMember,
    /// An organisation of the user requires a second factor, and the sign-in the grant was made
    /// at did not use one (the grant predates the requirement): a new sign-in is needed.
    #[error("the user's organisation requires a second factor this sign-in did not use")]
    MfaRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<GrantEnded> for OAuthError {
    fn from(e: GrantEnded) -> Self {
        match e {
            GrantEnded::Store(e) => e.into(),
            GrantEnded::RevokedOrExpired => OAuthError::invalid_grant(GRANT_ENDED),
            other => OAuthError::invalid_grant(other.to_string()),
        }
    }
}

/// The one liveness rule for a user's grant, wherever something acts on it (a refresh or code
/// redemption at the token endpoint, an access token at `/v1`): it is unrevoked and unexpired
/// and, when it is bound to a browser session (`sid`: no `offline_access`), that session
/// exists, is neither idle nor past its absolute lifetime, and its user is not disabled. Only
/// reads: the caller decides what to do with an ended grant (the token endpoint revokes it,
/// see [`ensure_live_or_end`]; `/v1`, on a read-only path, just refuses the token).
///
/// A user's grant must also meet the organisation MFA requirement (the rule of
/// [`crate::mfa::types::Factors::allow`], with the one query it needs here), read
/// now: a grant made at a password-only sign-in before the organisation turned the
/// requirement on issues nothing more (no refresh, no `/v1` call), rather than outliving the
/// policy by the refresh family's lifetime. It is refused, not revoked: turning the
/// requirement off again lets it work.
///
/// A grant made in an organisation (issue #11) lives only while its user is a member there:
/// removal from the organisation (by the operator, SCIM or deprovisioning) ends what the user
/// can do there with every token of the family, an organisation's client included.
pub fn ensure_live<S: SessionStore + FactorStore + UserStore>(
    store: &S,
    policy: SessionPolicy,
    grant: &Grant,
    now: UnixTime,
) -> Result<(), GrantEnded> {
    if grant.revoked_at.is_some() || grant.expires_at <= now {
        return Err(GrantEnded::RevokedOrExpired);
    }
    if let Some(user) = &grant.user_id
        && !authn::meets(&grant.amr, authn::ACR_MFA)
        && store.org_requires_mfa(user)?
    {
        return Err(GrantEnded::MfaRequired);
    }
    if let (Some(user), Some(org)) = (&grant.user_id, &grant.org_id)
        && !store
            .membership(user, org)?
            .is_some_and(|m| m.admits(&grant.amr, Some(org)))
    {
        // Gone from the organisation, or no longer admitted there (it now requires SSO of a
        // member who signed in otherwise): `Membership::admits`, as for sessions.
        return Err(GrantEnded::NotMember);
    }
    let Some(sid) = &grant.sid else {
        return Ok(());
    };
    match store.find_session_by_sid(sid)? {
        Some(s) if policy.is_live(&s, now) => {
            if s.user.disabled {
                return Err(GrantEnded::UserInactive);
            }
            Ok(())
        }
        _ => Err(GrantEnded::SessionEnded),
    }
}

/// [`ensure_live`] at the token endpoint: a grant whose session is found ended is revoked as
/// sign-out would (its pruning may not have run yet), so its other tokens end too.
pub(crate) fn ensure_live_or_end<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    grant: &Grant,
) -> Result<(), OAuthError> {
    let now = ctx.now();
    match ensure_live(ctx.store, ctx.session_policy, grant, now) {
        Err(GrantEnded::SessionEnded) => {
            ctx.store.revoke_grant(&grant.id, now)?;
            Err(GrantEnded::SessionEnded.into())
        }
        other => Ok(other?),
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
