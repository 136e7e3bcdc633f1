//! Minting tokens: opaque access tokens (`mg_token_…`, stored as SHA-256), RFC 9068 JWT access
//! tokens, rotating refresh tokens (`mg_refresh_…`) and OIDC ID tokens.

use serde::Serialize;

use super::error::OAuthError;
use super::grantable;
use super::resources;
use super::store::OAuthStore;
use super::types::*;
use crate::accounts::types::{Organisation, User};
use crate::authn;
use crate::clock::{Clock, UnixTime};
use crate::config::{OAuthSettings, ServerSettings};
use crate::credentials::{PlainAccessToken, PlainRefreshToken};
use crate::crypto;
use crate::ids::{GrantId, Sid, UserId};
use crate::oidc::claims::{self, Release, UserClaims};
use crate::scopes::Scopes;
use crate::sessions::service::SessionPolicy;
use crate::signing::{KeySet, SigningAlg};

pub const ACCESS_TOKEN_PREFIX: &str = "mg_token_";
pub const REFRESH_TOKEN_PREFIX: &str = "mg_refresh_";
/// Authorization codes live 60 s (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_TTL: i64 = 60;
pub const ID_TOKEN_TTL: i64 = 3600;
/// JWT access tokens are signed with ES256: fast to sign and to verify.
pub const ACCESS_TOKEN_ALG: SigningAlg = SigningAlg::Es256;

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3): the one place the
/// tokens are shown, so its `Debug` leaves them out.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What the token services share.
pub struct Ctx<'a, S> {
    pub store: &'a S,
    pub clock: &'a dyn Clock,
    pub keys: &'a KeySet,
    /// The issuer (`iss` of every token).
    pub server: &'a ServerSettings,
    /// The default audience.
    pub oauth: &'a OAuthSettings,
    /// How long browser sessions live, for grants bound to one.
    pub session_policy: SessionPolicy,
}

/// RFC 9068 §2.2 claims.
#[derive(Serialize)]
struct JwtAccessClaims<'a> {
    iss: &'a str,
    exp: UnixTime,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    iat: UnixTime,
    jti: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gid: Option<&'a str>,
    /// The organisation the token acts in (issue #11): the grant's, or a client-credentials
    /// token's client's.
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_name: Option<&'a str>,
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: UnixTime,
    iat: UnixTime,
    auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    amr: &'a [String],
    acr: &'static str,
    /// `sub` and what the scope releases ([`claims`]), as userinfo answers them.
    #[serde(flatten)]
    user: UserClaims,
}

impl<S: OAuthStore> Ctx<'_, S> {
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The `aud` of access tokens whose request names no resource (RFC 8707).
    pub fn default_audience(&self) -> String {
        resources::default_audience(self.server, self.oauth)
    }

    /// An access token for `scope` and `audience` (already checked against what the client or
    /// grant may have, see [`resources`]), opaque or JWT per the client; returns it with its
    /// lifetime. Opaque tokens are stored only as their hash.
    pub fn access_token(
        &self,
        client: &Client,
        user_id: Option<&UserId>,
        grant_id: Option<&GrantId>,
        scope: &Scopes,
        audience: String,
        org: Option<&Organisation>,
    ) -> Result<(PlainAccessToken, i64), OAuthError> {
        let now = self.now();
        let ttl = client.access_token_ttl;
        match client.access_token_format {
            TokenFormat::Opaque => {
                let token = PlainAccessToken::new(format!(
                    "{ACCESS_TOKEN_PREFIX}{}",
                    crypto::random_base62(43)
                ));
                self.store.insert_access_token(&AccessTokenRecord {
                    token_hash: token.hash(),
                    grant_id: grant_id.cloned(),
                    client_id: client.id.clone(),
                    user_id: user_id.cloned(),
                    scope: scope.clone(),
                    audience: Some(audience),
                    created_at: now,
                    expires_at: now + ttl,
                })?;
                Ok((token, ttl))
            }
            TokenFormat::Jwt => {
                let claims = JwtAccessClaims {
                    iss: self.server.issuer_str(),
                    exp: now + ttl,
                    aud: &audience,
                    sub: user_id.map_or(client.id.as_str(), UserId::as_str),
                    client_id: client.id.as_str(),
                    iat: now,
                    jti: crypto::random_base62(22),
                    scope: scope.to_string(),
                    gid: grant_id.map(GrantId::as_str),
                    org_id: org.map(|o| o.id.as_str()),
                    org_name: org.map(|o| o.name.as_str()),
                };
                let token = self
                    .keys
                    .sign(ACCESS_TOKEN_ALG, Some("at+jwt"), &claims, now)
                    .map_err(|e| {
                        tracing::error!(error = %e, "signing a JWT access token failed");
                        OAuthError::server_error()
                    })?;
                Ok((PlainAccessToken::new(token), ttl))
            }
        }
    }

    pub fn refresh_token(&self, grant_id: &GrantId) -> Result<PlainRefreshToken, OAuthError> {
        let token = PlainRefreshToken::new(format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            crypto::random_base62(43)
        ));
        self.store.insert_refresh_token(&RefreshTokenRecord {
            token_hash: token.hash(),
            grant_id: grant_id.clone(),
            created_at: self.now(),
            used_at: None,
        })?;
        Ok(token)
    }

    /// The ID token (OIDC Core §2, §3.1.3.6); `sid` is the session's public id, never the cookie.
    #[allow(clippy::too_many_arguments)]
    pub fn id_token(
        &self,
        client: &Client,
        user: &User,
        grant: &Grant,
        nonce: Option<&str>,
        access_token: &PlainAccessToken,
        scope: &Scopes,
        org: Option<&Organisation>,
    ) -> Result<String, OAuthError> {
        let now = self.now();
        let claims = IdTokenClaims {
            iss: self.server.issuer_str(),
            aud: client.id.as_str(),
            azp: client.id.as_str(),
            exp: now + ID_TOKEN_TTL,
            iat: now,
            auth_time: grant.auth_time,
            nonce,
            at_hash: client.id_token_alg.half_hash(access_token.expose()),
            sid: grant.sid.as_ref().map(Sid::as_str),
            amr: &grant.amr,
            acr: authn::acr_of(&grant.amr),
            user: claims::user_claims(self.store, user, org, scope, Release::IdToken)?,
        };
        self.keys
            .sign(client.id_token_alg, Some("JWT"), &claims, now)
            .map_err(|e| {
                tracing::error!(error = %e, "signing an ID token failed");
                OAuthError::server_error()
            })
    }

    /// Access token, optional refresh token and ID token for a user's grant, for `scope` less
    /// the API scopes the user's role no longer holds ([`grantable`]). The access token's
    /// audience is the requested resource if the grant holds it, else the grant's (RFC 8707
    /// §2.2). Fails with `invalid_grant`, returning nothing, when the grant was revoked before
    /// the tokens were stored (a sign-out racing the redemption, a replay of the code or refresh
    /// token): the check is a conditional update after minting, so a revocation either comes
    /// first and is seen here, or comes after and deletes what was stored.
    pub fn for_grant(
        &self,
        client: &Client,
        user: &User,
        grant: &Grant,
        scope: &Scopes,
        extras: Extras<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let Extras {
            nonce,
            resource,
            with_refresh,
        } = extras;
        // The user's current role bounds every token, whichever flow or grant it comes from
        // (a user demoted since the grant gets less on refresh, never more).
        let scope = &grantable::for_user(self.store, &user.id, grant.org_id.as_ref(), scope)?;
        // The grant's organisation, while the user is a member ([`super::grants::ensure_live`]
        // refuses a grant whose membership is gone before this).
        let org = match &grant.org_id {
            Some(org) => self.store.membership(&user.id, org)?.map(|m| m.org),
            None => None,
        };
        let audience =
            resources::audience_for_grant(&grant.resources, &self.default_audience(), resource)?;
        let (access_token, expires_in) = self.access_token(
            client,
            Some(&user.id),
            Some(&grant.id),
            scope,
            audience,
            org.as_ref(),
        )?;
        let refresh_token = if with_refresh {
            Some(self.refresh_token(&grant.id)?)
        } else {
            None
        };
        let id_token = if scope.contains(SCOPE_OPENID) {
            Some(self.id_token(
                client,
                user,
                grant,
                nonce,
                &access_token,
                scope,
                org.as_ref(),
            )?)
        } else {
            None
        };
        // Revoked while these were minted (a sign-out or logout, a concurrent reuse of the same
        // code or refresh token): what was just stored dies with the family and nothing is
        // handed out. The conditional update waits for a concurrent revocation's row lock
        // (PostgreSQL) or runs before or after it on the one writer (SQLite).
        let now = self.now();
        if !self.store.mark_grant_used(&grant.id, now)? {
            self.store.revoke_grant(&grant.id, now)?;
            return Err(OAuthError::invalid_grant(REVOKED_WHILE_ISSUING));
        }
        // Shown once, here; only their hashes were stored.
        Ok(TokenResponse {
            access_token: access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in,
            refresh_token: refresh_token.map(|t| t.expose().to_owned()),
            scope: scope.to_string(),
            id_token,
        })
    }
}

/// `error_description` when the grant was revoked while its tokens were being issued.
pub const REVOKED_WHILE_ISSUING: &str =
    "the authorization was revoked while the tokens were issued";

/// The per-request parts of a token response.
pub struct Extras<'a> {
    pub nonce: Option<&'a str>,
    /// The token request's RFC 8707 `resource`: narrows the grant's resources.
    pub resource: Option<&'a str>,
    pub with_refresh: bool,
}

/// A refresh token comes with a user grant when `offline_access` was granted (OIDC Core §11) or
/// the client is configured to always receive one (then bound to the session).
pub fn issues_refresh(client: &Client, scope: &Scopes) -> bool {
    client.allows(GrantType::RefreshToken)
        && (scope.contains(SCOPE_OFFLINE) || client.always_issue_refresh)
}
