//! The authorization decision and grant liveness against the in-memory store.

mod authorize;
mod consent;
mod grants;

use crate::accounts::types::{Role, User};
use crate::clock::UnixTime;
use crate::credentials::{HashedClientSecret, HashedSessionId};
use crate::oauth::store::ClientStore;
use crate::oauth::types::{Client, GrantType, TokenFormat};
use crate::scopes::Scopes;
use crate::sessions::types::{CurrentSession, SessionRecord};
use crate::signing::SigningAlg;
use crate::testing::memory::MemoryStore;

const NOW: UnixTime = 1_700_000_000;
const REDIRECT: &str = "https://app.example/cb";

/// A confidential client registered for the code flow, asking consent.
fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: id.into(),
        secret_hash: Some(HashedClientSecret::from_stored("0".repeat(64))),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scopes::parse("openid profile email offline_access read:org write:org").unwrap(),
        skip_consent: false,
        access_token_format: TokenFormat::Opaque,
        access_token_ttl: 300,
        refresh_idle_ttl: 86_400,
        refresh_absolute_ttl: 30 * 86_400,
        always_issue_refresh: false,
        id_token_alg: SigningAlg::Rs256,
        created_at: 0,
        resources: vec![],
        org_id: None,
    }
}

struct World {
    store: MemoryStore,
    alice: User,
}

/// One organisation, one member (`alice`) and the client `mg_client_app`.
fn world() -> World {
    let store = MemoryStore::new();
    let org = store.org("acme");
    let alice = store.user("alice", Some((&org, Role::Member)));
    store.create_client(&client("mg_client_app")).unwrap();
    World { store, alice }
}

/// A session of `user` signed in at `auth_time`, last seen now, for `sid`.
fn session(user: &User, sid: &str, auth_time: UnixTime) -> CurrentSession {
    CurrentSession {
        session: SessionRecord {
            id_hash: HashedSessionId::from_stored(format!("hash-of-{sid}")),
            sid: sid.into(),
            user_id: user.id.clone(),
            created_at: auth_time,
            last_seen_at: NOW,
            expires_at: auth_time + 10 * 3600,
            auth_time,
            amr: vec!["pwd".into()],
            ip: None,
            user_agent: None,
            org_id: None,
        },
        user: user.clone(),
        org: None,
    }
}
