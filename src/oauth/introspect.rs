//! What a presented token is: shared by userinfo, introspection (RFC 7662) and revocation
//! (RFC 7009). Opaque tokens are looked up by hash; JWT access tokens are verified against our
//! keys and their grant checked, so a revoked grant's JWTs read as inactive here.

use serde::{Deserialize, Serialize};

use super::grants::{self, GrantEnded};
use super::store::OAuthStore;
use super::tokens::{ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};
use super::types::{Grant, SCOPE_GROUPS};
use crate::accounts::types::{Organisation, User};
use crate::authn;
use crate::clock::UnixTime;
use crate::credentials::{HashedAccessToken, PlainAccessToken, PlainRefreshToken};
use crate::ids::{ClientId, GrantId, UserId};
use crate::scopes::Scopes;
use crate::sessions::service::SessionPolicy;
use crate::signing::KeySet;
use crate::store::StoreResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// An active token's facts.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub kind: TokenKind,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub grant_id: Option<GrantId>,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub audience: Option<String>,
    /// The stored hash of an opaque access token, used to delete it.
    pub token_hash: Option<HashedAccessToken>,
}

#[derive(Deserialize)]
struct JwtAccessClaims {
    exp: i64,
    iat: i64,
    sub: String,
    client_id: ClientId,
    scope: String,
    aud: Option<String>,
    gid: Option<GrantId>,
}

fn grant_live<S: OAuthStore>(store: &S, grant_id: &GrantId, now: UnixTime) -> StoreResult<bool> {
    Ok(store
        .find_grant(grant_id)?
        .is_some_and(|g| g.revoked_at.is_none() && g.expires_at > now))
}

/// The token if it is ours, unexpired and unrevoked; `None` otherwise.
pub fn inspect<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: UnixTime,
) -> StoreResult<Option<ActiveToken>> {
    if token.starts_with(ACCESS_TOKEN_PREFIX) {
        let hash = PlainAccessToken::new(token).hash();
        let Some(t) = store.find_access_token(&hash)? else {
            return Ok(None);
        };
        if t.expires_at <= now {
            return Ok(None);
        }
        return Ok(Some(ActiveToken {
            kind: TokenKind::Access,
            client_id: t.client_id,
            user_id: t.user_id,
            scope: t.scope,
            grant_id: t.grant_id,
            issued_at: t.created_at,
            expires_at: t.expires_at,
            audience: t.audience,
            token_hash: Some(hash),
        }));
    }
    if token.starts_with(REFRESH_TOKEN_PREFIX) {
        let hash = PlainRefreshToken::new(token).hash();
        let Some(t) = store.find_refresh_token(&hash)? else {
            return Ok(None);
        };
        let Some(g) = store.find_grant(&t.grant_id)? else {
            return Ok(None);
        };
        if t.used_at.is_some() || g.revoked_at.is_some() || g.expires_at <= now {
            return Ok(None);
        }
        return Ok(Some(ActiveToken {
            kind: TokenKind::Refresh,
            client_id: g.client_id,
            user_id: g.user_id,
            scope: g.scope,
            grant_id: Some(g.id),
            issued_at: t.created_at,
            expires_at: g.expires_at,
            audience: None,
            token_hash: None,
        }));
    }
    if token.matches('.').count() == 2 {
        let Ok(claims) = keys.verify::<JwtAccessClaims>(token, issuer, Some("at+jwt"), false)
        else {
            return Ok(None);
        };
        if claims.exp <= now {
            return Ok(None);
        }
        if let Some(gid) = &claims.gid
            && !grant_live(store, gid, now)?
        {
            return Ok(None);
        }
        let user_id = (claims.sub != claims.client_id.as_str() || claims.gid.is_some())
            .then(|| UserId::new(claims.sub));
        return Ok(Some(ActiveToken {
            kind: TokenKind::Access,
            client_id: claims.client_id,
            user_id,
            scope: Scopes::parse(&claims.scope).unwrap_or_default(),
            grant_id: claims.gid,
            issued_at: claims.iat,
            expires_at: claims.exp,
            audience: claims.aud,
            token_hash: None,
        }));
    }
    Ok(None)
}

/// The RFC 7662 §2.2 response.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The organisation the token acts in (issue #11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// How the user authenticated for the token's grant (RFC 8176), as in its ID token; user
    /// tokens only (RFC 7662 §2.2 allows further members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The authentication context class that sign-in meets ([`authn::acr_of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<&'static str>,
    /// When the user last authenticated for the grant (OIDC `auth_time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
}

/// A token as every reader takes it: [`inspect`]ed, and for a user's token, the user not
/// disabled and the grant live by the one rule of [`grants::ensure_live`] (its browser
/// session, the organisation MFA requirement), so a token never outlives what ended its grant.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub token: ActiveToken,
    pub user: Option<User>,
    /// The grant a user's token acts for (what sign-in it was made at).
    pub grant: Option<Grant>,
    /// The organisation the token acts in: its grant's (the user is still a member, see
    /// [`grants::ensure_live`]), or a client-credentials token's client's.
    pub org: Option<Organisation>,
}

/// The token if it is live (see [`LiveToken`]); `None` otherwise. Only reads: introspection,
/// userinfo and `/v1` read tokens through it.
pub fn inspect_live<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    policy: SessionPolicy,
    now: UnixTime,
) -> StoreResult<Option<LiveToken>> {
    let Some(t) = inspect(store, keys, issuer, token, now)? else {
        return Ok(None);
    };
    let Some(user_id) = &t.user_id else {
        // A client's own token (client credentials) ends with the client: a JWT one, which no
        // deletion reaches, is refused once its client is gone.
        let Some(client) = store.find_client(&t.client_id)? else {
            return Ok(None);
        };
        let org = match client.org_id {
            Some(org) => store.find_org_by_id(&org)?,
            None => None,
        };
        return Ok(Some(LiveToken {
            token: t,
            user: None,
            grant: None,
            org,
        }));
    };
    let Some(user) = store.find_user(user_id)?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    let grant = match &t.grant_id {
        Some(gid) => match store.find_grant(gid)? {
            Some(grant) => Some(grant),
            None => return Ok(None),
        },
        None => None,
    };
    if let Some(g) = &grant {
        match grants::ensure_live(store, policy, g, now) {
            Ok(()) => {}
            Err(GrantEnded::Store(e)) => return Err(e),
            Err(_) => return Ok(None),
        }
    }
    let org = match grant.as_ref().and_then(|g| g.org_id.as_ref()) {
        Some(org) => store.membership(&user.id, org)?.map(|m| m.org),
        None => None,
    };
    Ok(Some(LiveToken {
        token: t,
        user: Some(user),
        grant,
        org,
    }))
}

pub fn introspect<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    policy: SessionPolicy,
    now: UnixTime,
) -> StoreResult<Introspection> {
    let Some(LiveToken {
        token: t,
        user,
        grant,
        org,
    }) = inspect_live(store, keys, issuer, token, policy, now)?
    else {
        return Ok(Introspection::default());
    };
    // Only the token's organisation's groups (none without one).
    let groups = match (&user, &org) {
        (Some(u), Some(org)) if t.scope.contains(SCOPE_GROUPS) => {
            Some(store.user_groups(&u.id, &org.id)?)
        }
        (Some(_), None) if t.scope.contains(SCOPE_GROUPS) => Some(Vec::new()),
        _ => None,
    };
    Ok(Introspection {
        active: true,
        scope: Some(t.scope.to_string()),
        sub: Some(match &t.user_id {
            Some(user_id) => user_id.to_string(),
            None => t.client_id.to_string(),
        }),
        username: user.map(|u| u.username),
        client_id: Some(t.client_id.into_string()),
        exp: Some(t.expires_at),
        iat: Some(t.issued_at),
        token_type: Some(match t.kind {
            TokenKind::Access => "Bearer",
            TokenKind::Refresh => "refresh_token",
        }),
        aud: t.audience,
        iss: Some(issuer.to_owned()),
        groups,
        org_id: org.as_ref().map(|o| o.id.to_string()),
        org_name: org.map(|o| o.name),
        acr: grant.as_ref().map(|g| authn::acr_of(&g.amr)),
        auth_time: grant.as_ref().map(|g| g.auth_time),
        amr: grant.map(|g| g.amr),
    })
}

/// RFC 7009: revokes a token the calling client owns; anything else is silently ignored
/// (§2.2: 200 for unknown tokens; §2.1: another client's token is not revoked). Revoking a
/// refresh token ends its family and the family's access tokens.
pub fn revoke<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    client_id: &ClientId,
    token: &str,
    now: UnixTime,
) -> StoreResult<()> {
    let Some(t) = inspect(store, keys, issuer, token, now)? else {
        return Ok(());
    };
    if t.client_id != *client_id {
        tracing::info!(%client_id, "revocation of another client's token ignored");
        return Ok(());
    }
    match (t.kind, &t.grant_id, &t.token_hash) {
        (TokenKind::Refresh, Some(gid), _) => store.revoke_grant(gid, now),
        (TokenKind::Access, _, Some(hash)) => store.delete_access_token(hash),
        // A JWT cannot be recalled; ending its grant makes introspection report it inactive.
        (TokenKind::Access, Some(gid), None) => store.revoke_grant(gid, now),
        _ => Ok(()),
    }
}
