//! An organisation's OAuth clients, as its administrators manage them on the console (issue
//! #14): registered, edited, their secret rotated, deleted — each validated by the one client
//! rule ([`clients::build`], [`clients::revise`]) and audited with the organisation and the
//! actor. Every call takes the organisation: another organisation's client, and the operator's
//! (`org_id` NULL, CLI-managed), are not found. An organisation's client always asks its users'
//! consent (no `skip_consent` here). Blocking (store): call from `web::block`.

use super::clients::{self, ClientError, ClientInputError, NewClient};
use super::store::ClientStore;
use super::types::{Client, GrantType, SCOPE_GROUPS, SCOPE_OFFLINE, SCOPE_OPENID, TokenFormat};
use crate::accounts::types::Organisation;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::credentials::PlainClientSecret;
use crate::ids::{ClientId, OrgId, UserId};
use crate::scopes::API_SCOPES;
use crate::signing::SigningAlg;
use crate::store::StoreError;

/// The identity scopes the server supports (discovery's `scopes_supported`).
pub const IDENTITY_SCOPES: [&str; 5] = [
    SCOPE_OPENID,
    "profile",
    "email",
    SCOPE_OFFLINE,
    SCOPE_GROUPS,
];

/// Whether the console offers `scope`: an identity scope or an API scope.
pub fn offered_scope(scope: &str) -> bool {
    IDENTITY_SCOPES.contains(&scope) || API_SCOPES.contains(&scope)
}

/// What an administrator enters for a client (the registration form and the edit form; an
/// edit keeps the client's type).
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    /// `opaque` or `jwt`.
    pub access_token_format: String,
    pub resources: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgClientError {
    #[error(transparent)]
    Invalid(#[from] ClientInputError),
    #[error("choose at least one scope")]
    NoScope,
    #[error("`{0}` is not a scope this server offers")]
    UnknownScope(String),
    #[error("choose at least one grant type")]
    NoGrantType,
    #[error("the access token format is opaque or JWT")]
    TokenFormat,
    #[error("a public client has no secret to rotate")]
    PublicClient,
    /// The operator registered this client to skip consent: only the operator changes it
    /// (an organisation admin editing it could send its users' codes anywhere, unasked).
    #[error(
        "the operator manages this application (it skips the consent page): ask them to change it"
    )]
    OperatorManaged,
    #[error("no such application")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OrgClientError {
    fn from(e: StoreError) -> Self {
        OrgClientError::Store(e)
    }
}

impl From<ClientError> for OrgClientError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(e) => OrgClientError::Invalid(e),
            ClientError::NotFound(_) => OrgClientError::NotFound,
            ClientError::Store(e) => OrgClientError::Store(e),
        }
    }
}

pub type OrgClientResult<T> = Result<T, OrgClientError>;

/// The input as the client rule takes it, with what the console adds: the organisation,
/// consent always asked, and what only the CLI sets kept as it was (`existing`).
fn new_client(
    org: &OrgId,
    input: ClientInput,
    existing: Option<&Client>,
) -> OrgClientResult<NewClient> {
    if input.scopes.iter().all(|s| s.trim().is_empty()) {
        return Err(OrgClientError::NoScope);
    }
    if let Some(s) = input.scopes.iter().find(|s| !offered_scope(s)) {
        return Err(OrgClientError::UnknownScope(s.clone()));
    }
    if input.grant_types.is_empty() {
        return Err(OrgClientError::NoGrantType);
    }
    let access_token_format: TokenFormat = input
        .access_token_format
        .parse()
        .map_err(|_| OrgClientError::TokenFormat)?;
    Ok(NewClient {
        name: input.name,
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        public: existing.map_or(input.public, Client::is_public),
        scopes: Some(input.scopes.join(" ")),
        grant_types: input.grant_types,
        // An organisation's admin must not bypass its users' consent; a client the operator
        // registered for the organisation keeps what the operator chose.
        skip_consent: existing.is_some_and(|c| c.skip_consent),
        access_token_format,
        access_token_ttl: existing.map(|c| c.access_token_ttl),
        id_token_alg: existing.map_or(SigningAlg::Rs256, |c| c.id_token_alg),
        always_issue_refresh: existing.is_some_and(|c| c.always_issue_refresh),
        resources: input.resources,
        id: existing.map(|c| c.id.clone()),
        org_id: Some(org.clone()),
    })
}

fn record<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    kind: AuditKind,
    org: &Organisation,
    actor: &UserId,
    client: &Client,
    meta: &RequestMeta,
) -> OrgClientResult<()> {
    store.record_event(
        &AuditEvent::new(clock.now(), kind, meta)
            .org(&org.id)
            .user(actor)
            .subject(&client.name)
            .detail(client.id.to_string()),
    )?;
    Ok(())
}

/// The organisation's clients, oldest first.
pub fn list<S: ClientStore>(store: &S, org: &OrgId) -> OrgClientResult<Vec<Client>> {
    Ok(store.list_org_clients(org)?)
}

/// One of the organisation's clients; another organisation's or the operator's is not found.
pub fn get<S: ClientStore>(store: &S, org: &OrgId, id: &ClientId) -> OrgClientResult<Client> {
    if !clients::plausible_client_id(id.as_str()) {
        return Err(OrgClientError::NotFound);
    }
    match store.find_client(id)? {
        Some(c) if c.org_id.as_ref() == Some(org) => Ok(c),
        _ => Err(OrgClientError::NotFound),
    }
}

/// Registers a client of the organisation (`oauth.client.created`); a confidential client's
/// secret is returned this once (only its hash is stored).
pub fn register<S: ClientStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    input: ClientInput,
    meta: &RequestMeta,
) -> OrgClientResult<(Client, Option<PlainClientSecret>)> {
    let (client, secret) = clients::create(store, clock, new_client(&org.id, input, None)?)?;
    record(
        store,
        clock,
        AuditKind::OAuthClientCreated,
        org,
        actor,
        &client,
        meta,
    )?;
    Ok((client, secret))
}

/// Edits a client of the organisation, validated again as a whole (`oauth.client.updated`);
/// its id, type, secret and owner stay.
pub fn update<S: ClientStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &ClientId,
    input: ClientInput,
    meta: &RequestMeta,
) -> OrgClientResult<Client> {
    let existing = get(store, &org.id, id)?;
    if existing.skip_consent {
        return Err(OrgClientError::OperatorManaged);
    }
    let revised = clients::revise(&existing, new_client(&org.id, input, Some(&existing))?)?;
    // Consent was given to these redirect URIs, scopes, grant types and resources: when they
    // change, what was granted under the old terms ends and users are asked again (an admin
    // adding a redirect URI must not receive codes its users consented to elsewhere; a
    // narrowed scope must not live on in refresh families).
    let terms = |c: &Client| {
        (
            c.redirect_uris.clone(),
            c.post_logout_redirect_uris.clone(),
            c.scopes.clone(),
            c.grant_types.clone(),
            c.resources.clone(),
        )
    };
    let changed = terms(&existing) != terms(&revised);
    if !store.update_client(&revised, changed)? {
        return Err(OrgClientError::NotFound);
    }
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::OAuthClientUpdated, meta)
            .org(&org.id)
            .user(actor)
            .subject(&revised.name)
            .detail(format!(
                "{}{}",
                revised.id,
                if changed {
                    "; redirect URIs, scopes, grant types or resources changed: consents and grants ended"
                } else {
                    ""
                }
            )),
    )?;
    Ok(revised)
}

/// A new secret for a confidential client of the organisation; the old one stops working at
/// once (`oauth.client.secret_rotated`).
pub fn rotate<S: ClientStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &ClientId,
    meta: &RequestMeta,
) -> OrgClientResult<(Client, PlainClientSecret)> {
    let client = get(store, &org.id, id)?;
    if client.is_public() {
        return Err(OrgClientError::PublicClient);
    }
    if client.skip_consent {
        return Err(OrgClientError::OperatorManaged);
    }
    let secret = clients::rotate_secret(store, id)?;
    record(
        store,
        clock,
        AuditKind::OAuthClientSecretRotated,
        org,
        actor,
        &client,
        meta,
    )?;
    Ok((client, secret))
}

/// Deletes a client of the organisation with everything issued to it: its grants, their
/// access and refresh tokens, codes and consents (`oauth.client.deleted`).
pub fn delete<S: ClientStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    actor: &UserId,
    id: &ClientId,
    meta: &RequestMeta,
) -> OrgClientResult<Client> {
    let client = get(store, &org.id, id)?;
    if client.skip_consent {
        return Err(OrgClientError::OperatorManaged);
    }
    if !store.delete_client(id)? {
        return Err(OrgClientError::NotFound);
    }
    record(
        store,
        clock,
        AuditKind::OAuthClientDeleted,
        org,
        actor,
        &client,
        meta,
    )?;
    Ok(client)
}

/// The grant types the console offers, with their labels.
pub const OFFERED_GRANTS: [(GrantType, &str); 4] = [
    (
        GrantType::AuthorizationCode,
        "Authorization code (with PKCE)",
    ),
    (GrantType::RefreshToken, "Refresh token"),
    (
        GrantType::ClientCredentials,
        "Client credentials (confidential clients only)",
    ),
    (
        GrantType::DeviceCode,
        "Device code (TVs, command-line tools)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::service::create_org;
    use crate::clock::ManualClock;
    use crate::testing::memory::MemoryStore;

    fn input() -> ClientInput {
        ClientInput {
            name: "Portal".into(),
            public: false,
            redirect_uris: vec!["https://portal.example/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["openid".into(), "profile".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            access_token_format: "opaque".into(),
            resources: vec![],
        }
    }

    #[test]
    fn an_organisations_clients_are_its_own_and_always_ask_consent() {
        let (store, clock) = (MemoryStore::default(), ManualClock::new(1_700_000_000));
        let acme = create_org(&store, &clock, "Acme").unwrap();
        let beta = create_org(&store, &clock, "Beta").unwrap();
        let actor = UserId::new("usr_admin");
        let meta = RequestMeta::default();
        let (client, secret) = register(&store, &clock, &acme, &actor, input(), &meta).unwrap();
        assert!(!client.skip_consent);
        assert_eq!(client.org_id.as_ref(), Some(&acme.id));
        let secret = secret.expect("a confidential client's secret");
        let stored = store.find_client(&client.id).unwrap().unwrap();
        assert!(stored.secret_hash.unwrap().matches(&secret.hash()));
        assert!(get(&store, &acme.id, &client.id).is_ok());
        assert!(matches!(
            get(&store, &beta.id, &client.id),
            Err(OrgClientError::NotFound)
        ));
        assert!(matches!(
            delete(&store, &clock, &beta, &actor, &client.id, &meta),
            Err(OrgClientError::NotFound)
        ));
        assert!(matches!(
            rotate(&store, &clock, &beta, &actor, &client.id, &meta),
            Err(OrgClientError::NotFound)
        ));
        // The operator's clients are nobody's here.
        let (operator, _) = clients::create(
            &store,
            &clock,
            NewClient {
                org_id: None,
                ..new_client(&acme.id, input(), None).unwrap()
            },
        )
        .unwrap();
        assert!(matches!(
            get(&store, &acme.id, &operator.id),
            Err(OrgClientError::NotFound)
        ));
        let kinds: Vec<String> = store
            .recent_events(10)
            .unwrap()
            .into_iter()
            .filter(|e| e.org_id.as_ref() == Some(&acme.id))
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["oauth.client.created"]);
    }

    #[test]
    fn the_client_rule_refuses_with_a_reason() {
        let (store, clock) = (MemoryStore::default(), ManualClock::new(1_700_000_000));
        let acme = create_org(&store, &clock, "Acme").unwrap();
        let actor = UserId::new("usr_admin");
        let meta = RequestMeta::default();
        let attempt = |change: &dyn Fn(&mut ClientInput)| {
            let mut i = input();
            change(&mut i);
            register(&store, &clock, &acme, &actor, i, &meta).map(|_| ())
        };
        assert!(matches!(
            attempt(&|i| {
                i.public = true;
                i.grant_types = vec!["client_credentials".into()];
            }),
            Err(OrgClientError::Invalid(
                ClientInputError::PublicClientCredentials
            ))
        ));
        assert!(matches!(
            attempt(&|i| i.redirect_uris = vec!["/relative".into()]),
            Err(OrgClientError::Invalid(ClientInputError::Uri(_)))
        ));
        assert!(matches!(
            attempt(&|i| i.post_logout_redirect_uris = vec!["https://x.example/#f".into()]),
            Err(OrgClientError::Invalid(ClientInputError::PostLogoutUri(_)))
        ));
        assert!(matches!(
            attempt(&|i| i.redirect_uris = vec!["javascript:alert(1)".into()]),
            Err(OrgClientError::Invalid(ClientInputError::Uri(_)))
        ));
        assert!(matches!(
            attempt(&|i| i.scopes = vec!["openid".into(), "superpowers".into()]),
            Err(OrgClientError::UnknownScope(_))
        ));
        assert!(matches!(
            attempt(&|i| i.scopes.clear()),
            Err(OrgClientError::NoScope)
        ));
        assert!(matches!(
            attempt(&|i| i.grant_types.clear()),
            Err(OrgClientError::NoGrantType)
        ));
        assert!(matches!(
            attempt(&|i| i.access_token_format = "paseto".into()),
            Err(OrgClientError::TokenFormat)
        ));
        assert!(store.list_org_clients(&acme.id).unwrap().is_empty());
    }

    #[test]
    fn an_edit_keeps_the_id_type_and_secret() {
        let (store, clock) = (MemoryStore::default(), ManualClock::new(1_700_000_000));
        let acme = create_org(&store, &clock, "Acme").unwrap();
        let actor = UserId::new("usr_admin");
        let meta = RequestMeta::default();
        let (client, secret) = register(&store, &clock, &acme, &actor, input(), &meta).unwrap();
        let secret = secret.unwrap();
        let mut changed = input();
        changed.name = "Portal 2".into();
        changed.public = true;
        changed.access_token_format = "jwt".into();
        let revised = update(&store, &clock, &acme, &actor, &client.id, changed, &meta).unwrap();
        assert_eq!(revised.id, client.id);
        assert_eq!(revised.name, "Portal 2");
        assert_eq!(revised.access_token_format, TokenFormat::Jwt);
        let stored = store.find_client(&client.id).unwrap().unwrap();
        assert!(!stored.is_public(), "the type stays");
        assert!(stored.secret_hash.unwrap().matches(&secret.hash()));
        let mut bad = input();
        bad.redirect_uris = vec!["not a uri".into()];
        assert!(update(&store, &clock, &acme, &actor, &client.id, bad, &meta).is_err());
        assert_eq!(
            store.find_client(&client.id).unwrap().unwrap().name,
            "Portal 2"
        );
        let (_, new_secret) = rotate(&store, &clock, &acme, &actor, &client.id, &meta).unwrap();
        let stored = store.find_client(&client.id).unwrap().unwrap();
        assert!(!stored.secret_hash.as_ref().unwrap().matches(&secret.hash()));
        assert!(stored.secret_hash.unwrap().matches(&new_secret.hash()));
    }
}
