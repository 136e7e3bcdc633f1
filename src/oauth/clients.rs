//! Client registration and authentication (RFC 6749 §2).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::types::*;
use crate::clock::Clock;
use crate::credentials::PlainClientSecret;
use crate::crypto;
use crate::ids::ClientId;
use crate::oauth::store::ClientStore;
use crate::scopes::Scopes;
use crate::signing::SigningAlg;
use crate::store::StoreError;

pub const DEFAULT_SCOPES: &str = "openid profile email offline_access groups";
pub const OPAQUE_TOKEN_TTL: i64 = 3600;
pub const JWT_TOKEN_TTL: i64 = 300;
pub const REFRESH_IDLE_TTL: i64 = 30 * 86_400;
pub const REFRESH_ABSOLUTE_TTL: i64 = 90 * 86_400;

pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub scopes: Option<String>,
    pub grant_types: Vec<String>,
    pub skip_consent: bool,
    pub access_token_format: TokenFormat,
    pub access_token_ttl: Option<i64>,
    pub id_token_alg: SigningAlg,
    pub always_issue_refresh: bool,
    /// RFC 8707 resources the client may ask for (absolute URIs, no fragment); none: only the
    /// configured `api_audience`.
    pub resources: Vec<String>,
    /// A fixed id (for built-in clients such as `mintgate-cli`); random otherwise.
    pub id: Option<ClientId>,
    /// The organisation that owns the client; `None`: the operator's (first-party).
    pub org_id: Option<crate::ids::OrgId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Invalid(#[from] ClientInputError),
    #[error("no client with id `{0}`")]
    NotFound(ClientId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a client registration was refused: the operator's input. The text is what they see.
#[derive(Debug, thiserror::Error)]
pub enum ClientInputError {
    #[error("a client name is 1-100 characters, none of them a control character")]
    Name,
    #[error(transparent)]
    GrantType(#[from] UnknownGrantType),
    #[error("a public client cannot use client_credentials (RFC 6749 §4.4)")]
    PublicClientCredentials,
    #[error("the authorization_code grant needs at least one --redirect-uri")]
    NoRedirectUri,
    /// A redirect URI.
    #[error(transparent)]
    Uri(#[from] UriError),
    #[error("post-logout redirect URI: {0}")]
    PostLogoutUri(UriError),
    #[error("resource: {0}")]
    Resource(UriError),
    #[error("a scope has a character RFC 6749 §3.3 forbids")]
    Scope,
    #[error("the access token lifetime is 60 s to 1 day")]
    AccessTokenLifetime,
}

/// Validates and builds a client; the secret (confidential clients) is returned once.
pub fn build(
    input: NewClient,
    clock: &dyn Clock,
) -> Result<(Client, Option<PlainClientSecret>), ClientError> {
    let public = input.public;
    let mut client = checked(input, clock.now())?;
    let secret = (!public).then(new_secret);
    client.secret_hash = secret.as_ref().map(PlainClientSecret::hash);
    Ok((client, secret))
}

/// `existing` as an edit (`input`) changes it, validated by the same rules as [`build`]: its
/// id, type and secret, owner, creation time and refresh lifetimes stay.
pub fn revise(existing: &Client, input: NewClient) -> Result<Client, ClientError> {
    let input = NewClient {
        id: Some(existing.id.clone()),
        public: existing.is_public(),
        org_id: existing.org_id.clone(),
        ..input
    };
    let client = checked(input, existing.created_at)?;
    Ok(Client {
        secret_hash: existing.secret_hash.clone(),
        created_at: existing.created_at,
        refresh_idle_ttl: existing.refresh_idle_ttl,
        refresh_absolute_ttl: existing.refresh_absolute_ttl,
        ..client
    })
}

/// The one client rule: `input` validated into a client without a secret.
fn checked(input: NewClient, now: crate::clock::UnixTime) -> Result<Client, ClientError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ClientInputError::Name.into());
    }
    let mut grant_types = Vec::new();
    let wanted = if input.grant_types.is_empty() {
        vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
    } else {
        input.grant_types
    };
    for g in &wanted {
        let grant: GrantType = g.parse().map_err(ClientInputError::from)?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if input.public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(ClientInputError::PublicClientCredentials.into());
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && input.redirect_uris.is_empty() {
        return Err(ClientInputError::NoRedirectUri.into());
    }
    for uri in &input.redirect_uris {
        validate_redirect_uri(uri).map_err(ClientInputError::from)?;
    }
    for uri in &input.post_logout_redirect_uris {
        validate_redirect_uri(uri).map_err(ClientInputError::PostLogoutUri)?;
    }
    let mut resources: Vec<String> = Vec::new();
    for r in &input.resources {
        super::resources::validate_uri(r).map_err(ClientInputError::Resource)?;
        if !resources.contains(r) {
            resources.push(r.clone());
        }
    }
    let scopes = Scopes::parse(input.scopes.as_deref().unwrap_or(DEFAULT_SCOPES))
        .ok_or(ClientInputError::Scope)?;
    let ttl = input
        .access_token_ttl
        .unwrap_or(match input.access_token_format {
            TokenFormat::Opaque => OPAQUE_TOKEN_TTL,
            TokenFormat::Jwt => JWT_TOKEN_TTL,
        });
    if !(60..=86_400).contains(&ttl) {
        return Err(ClientInputError::AccessTokenLifetime.into());
    }
    Ok(Client {
        id: input.id.unwrap_or_else(ClientId::generate),
        name,
        secret_hash: None,
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        grant_types,
        scopes,
        skip_consent: input.skip_consent,
        access_token_format: input.access_token_format,
        access_token_ttl: ttl,
        refresh_idle_ttl: REFRESH_IDLE_TTL,
        refresh_absolute_ttl: REFRESH_ABSOLUTE_TTL,
        always_issue_refresh: input.always_issue_refresh,
        id_token_alg: input.id_token_alg,
        created_at: now,
        resources,
        org_id: input.org_id,
    })
}

pub fn create<S: ClientStore>(
    store: &S,
    clock: &dyn Clock,
    input: NewClient,
) -> Result<(Client, Option<PlainClientSecret>), ClientError> {
    let (client, secret) = build(input, clock)?;
    store.create_client(&client)?;
    Ok((client, secret))
}

fn new_secret() -> PlainClientSecret {
    PlainClientSecret::new(format!("mg_secret_{}", crypto::random_base62(43)))
}

/// A new secret for a confidential client; the old one stops working at once.
pub fn rotate_secret<S: ClientStore>(
    store: &S,
    id: &ClientId,
) -> Result<PlainClientSecret, ClientError> {
    let secret = new_secret();
    if store.set_client_secret(id, &secret.hash())? {
        Ok(secret)
    } else {
        Err(ClientError::NotFound(id.clone()))
    }
}

/// How the client presented itself at the token, introspection or revocation endpoint.
#[derive(Debug, Default)]
pub struct PresentedClient {
    /// From `Authorization: Basic` (RFC 6749 §2.3.1), both parts form-urlencoded.
    pub basic: Option<(ClientId, PlainClientSecret)>,
    pub body_id: Option<ClientId>,
    pub body_secret: Option<PlainClientSecret>,
}

impl PresentedClient {
    /// Parses an `Authorization` header value; `Err` if it is Basic but malformed.
    pub fn parse_basic(header: &str) -> Result<Option<(ClientId, PlainClientSecret)>, OAuthError> {
        let Some(encoded) = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
        else {
            return Ok(None);
        };
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| OAuthError::invalid_client())?;
        let text = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
        let (id, secret) = text
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(Some((
            ClientId::new(decode(id)),
            PlainClientSecret::new(decode(secret)),
        )))
    }
}

/// Whether `id` could name a client: every id is printable text (generated ids are base62,
/// fixed ones are chosen by the operator), so one with a control character (a NUL, which
/// PostgreSQL cannot even compare) is unknown without a lookup.
pub fn plausible_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && !id.chars().any(char::is_control)
}

/// Authenticates the client: `client_secret_basic`, `client_secret_post`, or `none` for public
/// clients. Exactly one method may be used (§2.3). Secrets compare in constant time.
pub fn authenticate<S: ClientStore>(
    store: &S,
    presented: &PresentedClient,
) -> Result<Client, OAuthError> {
    let (id, secret) = match (&presented.basic, &presented.body_id, &presented.body_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), body_id, None) => {
            if body_id.as_ref().is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            (id.clone(), Some(secret))
        }
        (None, Some(id), secret) => (id.clone(), secret.as_ref()),
        (None, None, _) => return Err(OAuthError::invalid_client()),
    };
    if !plausible_client_id(id.as_str()) {
        // No client has such an id (ids are printable): not looked up.
        return Err(OAuthError::invalid_client());
    }
    let client = match store.find_client(&id) {
        Ok(found) => found.ok_or_else(OAuthError::invalid_client)?,
        // An id the database cannot hold names no client (§5.2 `invalid_client`).
        Err(StoreError::Unstorable) => return Err(OAuthError::invalid_client()),
        Err(e) => return Err(e.into()),
    };
    match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => {
            if hash.matches(&secret.hash()) {
                Ok(client)
            } else {
                Err(OAuthError::invalid_client())
            }
        }
        (None, None) => Ok(client),
        _ => Err(OAuthError::invalid_client()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn basic_header_is_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:p%3Ass"));
        let (id, secret) = PresentedClient::parse_basic(&header).unwrap().unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose_secret(), "p:ss");
        assert!(PresentedClient::parse_basic("Bearer x").unwrap().is_none());
        assert!(PresentedClient::parse_basic("Basic !!!").is_err());
    }

    #[test]
    fn client_ids_with_control_characters_are_never_looked_up() {
        assert!(plausible_client_id("mintgate-cli"));
        assert!(plausible_client_id("mg_client_abc"));
        for bad in [
            "",
            "a\0b",
            "mintgate\0",
            "a\nb",
            "a\u{7f}",
            &"x".repeat(257),
        ] {
            assert!(!plausible_client_id(bad), "{bad:?}");
        }
    }
}
