//! The relying party side of upstream OpenID Connect (OIDC Core §3.1, the authorization code
//! flow): discovery of an organisation's IdP, the authorization request (code, PKCE S256 per
//! RFC 7636, `nonce`, `state`), the code exchange with our client secret there, and the
//! validation of its ID token (issuer, audience, expiry, nonce, signature over an allow-list of
//! asymmetric algorithms). Plain Rust over the `openidconnect` crate; no actix.
//!
//! Discovery documents (with their JWKS) are cached per connection and issuer for
//! [`METADATA_TTL`]; an ID token signed with a `kid` the cached JWKS lacks makes one refetch of
//! the JWKS (keys rotate), no more, per sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKey, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::crypto;
use crate::federation::types::OidcConfig;
use crate::ids::ConnectionId;

/// How long a discovery document and its JWKS are trusted before they are fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(600);
/// Each request to an upstream IdP gives up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest upstream answer read (discovery, JWKS, token response): an IdP configured by an
/// organisation's admin must not make the server buffer an unbounded body.
const MAX_BODY: usize = 1024 * 1024;

/// The ID token signature algorithms accepted: asymmetric ones only (an HMAC keyed with the
/// client secret would let anyone holding that secret forge tokens; `none` is never accepted).
pub const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

#[derive(Debug, thiserror::Error)]
pub enum RpError {
    #[error(
        "the identity provider's issuer must be an https URL (http only on a loopback address)"
    )]
    InsecureIssuer,
    #[error("the identity provider's configuration could not be read: {0}")]
    Discovery(String),
    #[error("the identity provider did not accept the sign-in: {0}")]
    Exchange(String),
    #[error("the identity provider's ID token is not valid: {0}")]
    IdToken(String),
}

/// What the authorization request committed to, kept (sealed) in the sign-in flow until the
/// callback: `state` to match the callback's, the `nonce` the ID token must carry, and the PKCE
/// verifier for the code exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    pub connection: ConnectionId,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// The validated ID token: its subject and every claim, for the attribute mapping.
#[derive(Debug, Clone)]
pub struct UpstreamClaims {
    pub subject: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// The HTTP client the upstream calls go through: reqwest (no redirects followed, a timeout),
/// reading at most [`MAX_BODY`] bytes of an answer.
struct BoundedHttp(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedHttp {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        use openidconnect::HttpClientError;
        Box::pin(async move {
            let request = request.try_into().map_err(Box::new)?;
            let mut response = self.0.execute(request).await.map_err(Box::new)?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            if response
                .content_length()
                .is_some_and(|n| n > MAX_BODY as u64)
            {
                return Err(HttpClientError::Other("the answer is too large".into()));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(HttpClientError::Other("the answer is too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}

/// The upstream relying party: an HTTP client (no redirects followed, answers bounded) and the
/// metadata cache.
pub struct UpstreamRp {
    http: BoundedHttp,
    cache: Mutex<HashMap<(ConnectionId, String), Cached>>,
}

impl Default for UpstreamRp {
    fn default() -> Self {
        Self::new()
    }
}

/// `https://`, or `http://` on a loopback address only (a local IdP, tests).
fn is_secure(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// An issuer may be `http://` only on a loopback address (a local IdP, tests); no whitespace or
/// control characters.
pub fn check_issuer(issuer: &str) -> Result<IssuerUrl, RpError> {
    if issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RpError::InsecureIssuer);
    }
    let url = Url::parse(issuer).map_err(|_| RpError::InsecureIssuer)?;
    if !is_secure(&url) {
        return Err(RpError::InsecureIssuer);
    }
    IssuerUrl::new(issuer.to_owned()).map_err(|_| RpError::InsecureIssuer)
}

/// Every endpoint discovery names (authorization, token, JWKS, userinfo) is held to the
/// issuer's rule: the client secret and the code never go over plain http to another host.
fn check_endpoints(metadata: &CoreProviderMetadata) -> Result<(), RpError> {
    let mut urls: Vec<&Url> = vec![
        metadata.authorization_endpoint().url(),
        metadata.jwks_uri().url(),
    ];
    urls.extend(metadata.token_endpoint().map(|u| u.url()));
    urls.extend(metadata.userinfo_endpoint().map(|u| u.url()));
    if urls.into_iter().all(is_secure) {
        Ok(())
    } else {
        Err(RpError::Discovery(
            "an endpoint is not https (http only on a loopback address)".into(),
        ))
    }
}

/// The `kid` in a compact JWS's header, if any.
fn kid_of(jws: &str) -> Option<String> {
    let header = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}

/// The payload of a compact JWS whose signature was verified.
fn payload_of(jws: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jws.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

impl UpstreamRp {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http: BoundedHttp(http),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &(ConnectionId, String)) -> Option<CoreProviderMetadata> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|c| c.fetched.elapsed() < METADATA_TTL)
            .map(|c| c.metadata.clone())
    }

    fn remember(&self, key: (ConnectionId, String), metadata: CoreProviderMetadata) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, c| c.fetched.elapsed() < METADATA_TTL);
        cache.insert(
            key,
            Cached {
                metadata,
                fetched: Instant::now(),
            },
        );
    }

    /// The IdP's discovery document with its JWKS, from the cache while fresh.
    async fn metadata(
        &self,
        connection: &ConnectionId,
        config: &OidcConfig,
    ) -> Result<CoreProviderMetadata, RpError> {
        let issuer = check_issuer(&config.issuer)?;
        let key = (connection.clone(), config.issuer.clone());
        if let Some(m) = self.cached(&key) {
            return Ok(m);
        }
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| RpError::Discovery(e.to_string()))?;
        check_endpoints(&metadata)?;
        self.remember(key, metadata.clone());
        Ok(metadata)
    }

    /// The JWKS again (an unknown `kid`), stored in the cache.
    async fn refetch_jwks(
        &self,
        connection: &ConnectionId,
        config: &OidcConfig,
        metadata: CoreProviderMetadata,
    ) -> Result<CoreProviderMetadata, RpError> {
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| RpError::Discovery(e.to_string()))?;
        let metadata = metadata.set_jwks(jwks);
        self.remember(
            (connection.clone(), config.issuer.clone()),
            metadata.clone(),
        );
        Ok(metadata)
    }

    /// The URL to send the browser to, and the ceremony to keep until the callback.
    pub async fn authorization_url(
        &self,
        connection: &ConnectionId,
        config: &OidcConfig,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<(Url, Ceremony), RpError> {
        let metadata = self.metadata(connection, config).await?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| RpError::Discovery(e.to_string()))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            None,
        )
        .set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = crypto::random_token();
        let nonce = crypto::random_token();
        let (state2, nonce2) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state2),
                move || Nonce::new(nonce2),
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, _, _) = request.url();
        Ok((
            url,
            Ceremony {
                connection: connection.clone(),
                state,
                nonce,
                verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Exchanges the code (with the PKCE verifier and our client secret:
    /// `client_secret_basic`, or `client_secret_post` when that is all discovery offers) and
    /// validates the ID token.
    pub async fn finish(
        &self,
        config: &OidcConfig,
        client_secret: Option<SecretString>,
        redirect_uri: &str,
        code: &str,
        ceremony: &Ceremony,
    ) -> Result<UpstreamClaims, RpError> {
        let connection = &ceremony.connection;
        let mut metadata = self.metadata(connection, config).await?;
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|m| {
                m.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| RpError::Exchange(e.to_string()))?;
        let secret = client_secret.map(|s| ClientSecret::new(s.expose_secret().to_owned()));
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            secret.clone(),
        )
        .set_redirect_uri(redirect.clone())
        .set_auth_type(if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        });
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| RpError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(ceremony.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| RpError::Exchange(e.to_string()))?;
        let _ = response.access_token();
        let id_token: &CoreIdToken = response
            .id_token()
            .ok_or_else(|| RpError::IdToken("no ID token in the token response".into()))?;
        let jws = id_token.to_string();
        if let Some(kid) = kid_of(&jws) {
            let known = metadata
                .jwks()
                .keys()
                .iter()
                .any(|k| k.key_id().is_some_and(|id| **id == kid));
            if !known {
                metadata = self.refetch_jwks(connection, config, metadata).await?;
            }
        }
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            secret,
        );
        let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
        let claims = id_token
            .claims(&verifier, &Nonce::new(ceremony.nonce.clone()))
            .map_err(|e| RpError::IdToken(e.to_string()))?;
        let subject = claims.subject().as_str().to_owned();
        let claims =
            payload_of(&jws).ok_or_else(|| RpError::IdToken("unreadable claims".into()))?;
        Ok(UpstreamClaims { subject, claims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_issuers_only_on_loopback() {
        assert!(check_issuer("https://idp.example.com").is_ok());
        assert!(check_issuer("http://127.0.0.1:8080").is_ok());
        assert!(check_issuer("http://[::1]:8080/realm").is_ok());
        assert!(check_issuer("http://localhost:3000").is_ok());
        for bad in [
            "http://idp.example.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "not a url",
            "https://idp.example.com\r\nX: y",
            "https://idp.example.com/a b",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_kid() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        assert_eq!(kid_of(&format!("{header}.e30.sig")).as_deref(), Some("k1"));
        assert_eq!(kid_of("garbage"), None);
    }
}
