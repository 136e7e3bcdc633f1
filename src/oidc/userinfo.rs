//! The UserInfo endpoint's logic (OIDC Core §5.3), free of HTTP: the claims of an access
//! token's user, per granted scope, built by [`claims`] like the ID token's.

use super::claims::{self, Release, UserClaims};
use crate::clock::UnixTime;
use crate::oauth::introspect::{self, TokenKind};
use crate::oauth::store::OAuthStore;
use crate::oauth::types::SCOPE_OPENID;
use crate::signing::KeySet;
use crate::store::StoreError;

/// Why userinfo refuses a token: the RFC 6750 §3.1 conditions, and storage failures.
#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// Unknown, expired, revoked, not an access token, or its user is gone or disabled.
    #[error("the access token is not valid")]
    InvalidToken,
    /// The token was not granted `openid` (OIDC Core §5.3: userinfo is an OpenID resource).
    #[error("the openid scope was not granted")]
    InsufficientScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The claims `token` may read. Only reads.
pub fn userinfo<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: UnixTime,
) -> Result<UserClaims, UserinfoError> {
    let token = introspect::inspect(store, keys, issuer, token, now)?
        .filter(|t| t.kind == TokenKind::Access)
        .ok_or(UserinfoError::InvalidToken)?;
    let user = match &token.user_id {
        Some(id) => store.find_user(id)?.filter(|u| !u.disabled),
        None => None,
    }
    .ok_or(UserinfoError::InvalidToken)?;
    if !token.scope.contains(SCOPE_OPENID) {
        return Err(UserinfoError::InsufficientScope);
    }
    Ok(claims::user_claims(
        store,
        &user,
        &token.scope,
        Release::Userinfo,
    )?)
}

