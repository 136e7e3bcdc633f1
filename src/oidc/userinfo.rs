//! The UserInfo endpoint's logic (OIDC Core §5.3), free of HTTP: the claims of an access
//! token's user, per granted scope, built by [`claims`] like the ID token's.

use super::claims::{self, Release, UserClaims};
use crate::clock::UnixTime;
use crate::oauth::introspect::{self, TokenKind};
use crate::oauth::store::OAuthStore;
use crate::oauth::types::SCOPE_OPENID;
use crate::sessions::service::SessionPolicy;
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
    policy: SessionPolicy,
    now: UnixTime,
) -> Result<UserClaims, UserinfoError> {
    let live = introspect::inspect_live(store, keys, issuer, token, policy, now)?
        .filter(|t| t.token.kind == TokenKind::Access)
        .ok_or(UserinfoError::InvalidToken)?;
    let token = live.token;
    let org = live.org;
    let user = live.user.ok_or(UserinfoError::InvalidToken)?;
    if !token.scope.contains(SCOPE_OPENID) {
        return Err(UserinfoError::InsufficientScope);
    }
    Ok(claims::user_claims(
        store,
        &user,
        org.as_ref(),
        &token.scope,
        Release::Userinfo,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::types::Role;
    use crate::oauth::store::GrantStore;
    use crate::oauth::types::AccessTokenRecord;
    use crate::scopes::Scopes;
    use crate::secrets::SecretBox;
    use crate::testing::memory::MemoryStore;

    const NOW: UnixTime = 1_700_000_000;
    const POLICY: SessionPolicy = SessionPolicy {
        idle: 3600,
        absolute: 36_000,
    };

    /// A store with alice and an opaque access token of hers for `scope`.
    fn world(scope: &str) -> (MemoryStore, KeySet, String) {
        let store = MemoryStore::new();
        let org = store.org("acme");
        let alice = store.user("alice", Some((&org, Role::Member)));
        let token = format!("mg_token_{}", "u".repeat(43));
        store
            .insert_access_token(&AccessTokenRecord {
                token_hash: crate::credentials::PlainAccessToken::new(token.as_str()).hash(),
                grant_id: None,
                client_id: "mg_client_app".into(),
                user_id: Some(alice.id),
                scope: Scopes::parse(scope).unwrap(),
                audience: None,
                created_at: NOW,
                expires_at: NOW + 60,
            })
            .unwrap();
        let keys = KeySet::load(&[], &SecretBox::from_key([5; 32]), NOW).unwrap();
        (store, keys, token)
    }

    #[test]
    fn claims_per_scope_for_a_live_token() {
        let (store, keys, token) = world("openid email");
        let claims = userinfo(&store, &keys, "https://id.example", &token, POLICY, NOW).unwrap();
        assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
        assert_eq!(claims.email_verified, Some(false));
        assert!(claims.name.is_none(), "no profile scope");
    }

    /// RFC 6750 §3.1: expired or unknown is `invalid_token`, a disabled user's token too;
    /// a token without `openid` is `insufficient_scope`.
    #[test]
    fn refusals() {
        let (store, keys, token) = world("openid");
        let at = |now| userinfo(&store, &keys, "https://id.example", &token, POLICY, now);
        assert!(matches!(at(NOW + 60), Err(UserinfoError::InvalidToken)));
        store
            .set_user_disabled(&"usr_alice".into(), true, NOW)
            .unwrap();
        assert!(matches!(at(NOW), Err(UserinfoError::InvalidToken)));
        let (store, keys, token) = world("profile");
        assert!(matches!(
            userinfo(&store, &keys, "https://id.example", &token, POLICY, NOW),
            Err(UserinfoError::InsufficientScope)
        ));
        assert!(matches!(
            userinfo(
                &store,
                &keys,
                "https://id.example",
                "mg_token_nope",
                POLICY,
                NOW
            ),
            Err(UserinfoError::InvalidToken)
        ));
    }
}
