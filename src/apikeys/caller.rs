//! Who is calling `/v1`: the one resolution of a presented credential — an API key, or an OAuth
//! access token minted for mintgate itself — into the [`Principal`] it acts as. Plain Rust over
//! the stores; the actix extractor (`crate::web::caller`) only reads the credential, the client
//! address and the clock, and calls [`resolve`].

use std::net::IpAddr;

use super::service::{self, ApiKeyError, KeyFormat, Principal, UsageLog};
use super::store::ApiKeyStore;
use super::types::ApiKey;
use crate::authn::Authentication;
use crate::clock::UnixTime;
use crate::config::{OAuthSettings, ServerSettings};
use crate::credentials::PlainApiKey;
use crate::oauth::introspect::{self, TokenKind};
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::sessions::service::SessionPolicy;
use crate::signing::Keys;

/// A credential as presented. Its `Debug` shows only which form it came in.
pub enum Credential {
    /// `Authorization: Bearer <API key or OAuth access token>` (RFC 6750 §2.1).
    Bearer(String),
    /// The deprecated `?api_key=` query parameter: API keys only, never an access token (a URL
    /// ends up in logs and `Referer`s).
    LegacyQuery(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Bearer(_) => "Credential::Bearer([REDACTED])",
            Credential::LegacyQuery(_) => "Credential::LegacyQuery([REDACTED])",
        })
    }
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
    /// For an OAuth access token: how its user authenticated for its grant.
    pub authentication: Option<Authentication>,
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
        let presented = PlainApiKey::new(token);
        let (principal, key) = service::verify(
            ctx.store,
            ctx.key_format,
            ctx.key_usage,
            &presented,
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
            authentication: None,
        });
    }
    if legacy {
        // OAuth access tokens never travel in a URL.
        return Err(ApiKeyError::Invalid);
    }
    let keys = ctx.keys.current();
    // Live by the one rule every reader applies (its user enabled, its grant live: a
    // session-bound token ends with its session, not with its own expiry).
    let found = introspect::inspect_live(
        ctx.store,
        &keys,
        ctx.server.issuer_str(),
        &token,
        ctx.session_policy,
        now,
    )?;
    let Some(live) = found.filter(|t| t.token.kind == TokenKind::Access) else {
        return Err(ApiKeyError::Invalid);
    };
    let t = live.token;
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
    let user_id = t.user_id.as_ref().ok_or(ApiKeyError::Invalid)?;
    // A token acts for its grant: keys it creates may live as long as the grant (the refresh
    // family), not just the hour of this access token.
    let org = live.org.map(|o| o.id);
    let (lifetime, authentication) = match live.grant {
        Some(grant) => {
            let authentication = Authentication {
                amr: grant.amr,
                auth_time: grant.auth_time,
            };
            (grant.expires_at, Some(authentication))
        }
        None => (t.expires_at, None),
    };
    let principal =
        service::principal_for_user(ctx.store, user_id, org.as_ref(), &t.scope, lifetime)?;
    Ok(Caller {
        principal,
        key: None,
        legacy,
        expires_at: Some(t.expires_at),
        authentication,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::store::OrgStore;
    use crate::accounts::types::{Role, User};
    use crate::apikeys::service::NewKey;
    use crate::oauth::store::GrantStore;
    use crate::oauth::types::{AccessTokenRecord, Grant};
    use crate::scopes::Scopes;
    use crate::secrets::SecretBox;
    use crate::signing::KeySet;
    use crate::testing::memory::MemoryStore;
    use secrecy::ExposeSecret;

    const NOW: UnixTime = 1_700_000_000;
    const ISSUER: &str = "https://id.example";

    struct World {
        store: MemoryStore,
        format: KeyFormat,
        usage: UsageLog,
        keys: Keys,
        server: ServerSettings,
        oauth: OAuthSettings,
        alice: User,
    }

    impl World {
        fn new() -> Self {
            let store = MemoryStore::new();
            let org = store.org("acme");
            let alice = store.user("alice", Some((&org, Role::Admin)));
            let secrets = SecretBox::from_key([3; 32]);
            World {
                store,
                format: KeyFormat {
                    prefix: "mg".into(),
                    environment: "test".into(),
                    max_lifetime: None,
                    rotation_grace: 3600,
                },
                usage: UsageLog::default(),
                keys: Keys::new(KeySet::load(&[], &secrets, NOW).unwrap()),
                server: ServerSettings {
                    issuer: ISSUER.parse().unwrap(),
                    ..ServerSettings::default()
                },
                oauth: OAuthSettings::default(),
                alice,
            }
        }

        fn resolve(&self, credential: Credential) -> Result<Caller, ApiKeyError> {
            let ctx = CallerCtx {
                store: &self.store,
                key_format: &self.format,
                key_usage: &self.usage,
                keys: &self.keys,
                server: &self.server,
                oauth: &self.oauth,
                session_policy: SessionPolicy::new(
                    std::time::Duration::from_secs(1800),
                    std::time::Duration::from_secs(36_000),
                ),
            };
            resolve(&ctx, credential, None, NOW)
        }

        /// A key of alice's with `admin`.
        fn key(&self) -> String {
            let org = self.store.find_org("acme").unwrap().unwrap();
            let new = NewKey {
                name: "k".into(),
                scopes: vec!["admin".into()],
                expires_in: None,
                allowed_ips: vec![],
            };
            let (_, secret) = service::create_for_operator(
                &self.store,
                &self.format,
                &org,
                Some(&self.alice.id),
                new,
                NOW,
            )
            .unwrap();
            secret.expose_secret().to_owned()
        }

        /// An opaque access token of alice's offline grant (live for a day) for `audience`,
        /// valid for an hour.
        fn token(&self, audience: &str) -> String {
            let grant = Grant {
                id: "grant_1".into(),
                client_id: "mg_client_app".into(),
                user_id: Some(self.alice.id.clone()),
                sid: None,
                scope: Scopes::parse("openid read:org write:org").unwrap(),
                auth_time: NOW,
                amr: vec!["pwd".into()],
                created_at: NOW,
                last_used_at: NOW,
                expires_at: NOW + 86_400,
                revoked_at: None,
                resources: vec![],
                org_id: Some(self.store.find_org("acme").unwrap().unwrap().id),
            };
            self.store.create_grant(&grant).unwrap();
            let token = format!("mg_token_{}", "t".repeat(43));
            self.store
                .insert_access_token(&AccessTokenRecord {
                    token_hash: crate::credentials::PlainAccessToken::new(token.as_str()).hash(),
                    grant_id: Some(grant.id),
                    client_id: grant.client_id,
                    user_id: grant.user_id,
                    scope: grant.scope,
                    audience: Some(audience.into()),
                    created_at: NOW,
                    expires_at: NOW + 3600,
                })
                .unwrap();
            token
        }
    }

    /// An access token acts for its grant: its own expiry is the credential's, the grant's
    /// bounds what it creates; its API scopes are the token's within the role's.
    #[test]
    fn an_access_token_for_mintgate_acts_for_its_grant() {
        let w = World::new();
        let caller = w.resolve(Credential::Bearer(w.token(ISSUER))).unwrap();
        assert!(caller.key.is_none() && !caller.legacy);
        assert_eq!(caller.expires_at, Some(NOW + 3600));
        assert_eq!(caller.principal.expires_at, Some(NOW + 86_400));
        assert_eq!(caller.principal.scopes.to_string(), "read:org write:org");
        let authentication = caller.authentication.expect("a user token says how");
        assert_eq!(
            (authentication.amr, authentication.auth_time),
            (vec!["pwd".to_owned()], NOW)
        );
        assert_eq!(
            caller.principal.user_id.as_deref(),
            Some(w.alice.id.as_str())
        );
    }

    /// RFC 9068 §4: a token minted for another resource server is not accepted here.
    #[test]
    fn a_token_for_another_audience_is_refused() {
        let w = World::new();
        let token = w.token("https://api.other.example");
        assert!(matches!(
            w.resolve(Credential::Bearer(token)),
            Err(ApiKeyError::Invalid)
        ));
    }

    /// The token ends with its grant and with its user.
    #[test]
    fn a_revoked_grant_or_a_disabled_user_ends_the_token() {
        let w = World::new();
        let token = w.token(ISSUER);
        w.store.revoke_grant(&"grant_1".into(), NOW).unwrap();
        assert!(matches!(
            w.resolve(Credential::Bearer(token)),
            Err(ApiKeyError::Invalid)
        ));
        let w = World::new();
        let token = w.token(ISSUER);
        w.store.set_user_disabled(&w.alice.id, true, NOW).unwrap();
        assert!(matches!(
            w.resolve(Credential::Bearer(token)),
            Err(ApiKeyError::Invalid)
        ));
    }

    /// `?api_key=` carries API keys only, and only where the organisation still accepts it.
    #[test]
    fn the_query_parameter_takes_keys_only_and_only_where_allowed() {
        let w = World::new();
        let token = w.token(ISSUER);
        assert!(matches!(
            w.resolve(Credential::LegacyQuery(token)),
            Err(ApiKeyError::Invalid)
        ));
        let key = w.key();
        let caller = w.resolve(Credential::LegacyQuery(key.clone())).unwrap();
        assert!(caller.legacy && caller.key.is_some());
        let org = w.store.find_org("acme").unwrap().unwrap();
        w.store.set_org_key_policy(&org.id, None, false).unwrap();
        assert!(matches!(
            w.resolve(Credential::LegacyQuery(key.clone())),
            Err(ApiKeyError::Invalid)
        ));
        assert!(
            w.resolve(Credential::Bearer(key)).is_ok(),
            "the header still works"
        );
    }
}
