//! OAuth value types: scopes, grant types, token formats, clients and redirect URI matching.

use std::str::FromStr;

use serde::Serialize;
use url::Url;

use crate::clock::UnixTime;
use crate::credentials::{
    HashedAccessToken, HashedAuthCode, HashedClientSecret, HashedDeviceCode, HashedRefreshToken,
};
use crate::ids::{ClientId, GrantId, OrgId, Sid, UserId};
use crate::scopes::Scopes;
use crate::signing::SigningAlg;

pub const SCOPE_OPENID: &str = "openid";
pub const SCOPE_OFFLINE: &str = "offline_access";
pub const SCOPE_GROUPS: &str = "groups";

/// What a scope means, in plain words for the consent page.
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        SCOPE_OPENID => "Confirm who you are",
        "profile" => "See your name and username",
        "email" => "See your e-mail address",
        SCOPE_OFFLINE => "Stay connected when you are not using it (a refresh token)",
        SCOPE_GROUPS => "See which groups you belong to",
        _ => "Access your data in this product",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GrantType {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

/// A grant type mintgate does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grant type `{0}`")]
pub struct UnknownGrantType(pub String);

impl FromStr for GrantType {
    type Err = UnknownGrantType;
    fn from_str(s: &str) -> Result<Self, UnknownGrantType> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| UnknownGrantType(s.to_owned()))
    }
}

/// Opaque `mg_token_...` (looked up in the database) or RFC 9068 JWT access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    Opaque,
    Jwt,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Opaque => "opaque",
            TokenFormat::Jwt => "jwt",
        }
    }
}

/// An access token format other than `opaque` and `jwt`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access token format `{0}`")]
pub struct UnknownTokenFormat(pub String);

impl FromStr for TokenFormat {
    type Err = UnknownTokenFormat;
    fn from_str(s: &str) -> Result<Self, UnknownTokenFormat> {
        match s {
            "opaque" => Ok(TokenFormat::Opaque),
            "jwt" => Ok(TokenFormat::Jwt),
            _ => Err(UnknownTokenFormat(s.to_owned())),
        }
    }
}

/// A registered client.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// The secret's hash; `None` for public clients.
    #[serde(skip)]
    pub secret_hash: Option<HashedClientSecret>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scopes,
    pub skip_consent: bool,
    pub access_token_format: TokenFormat,
    pub access_token_ttl: i64,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    /// Issue a refresh token even without `offline_access` (session-bound).
    pub always_issue_refresh: bool,
    pub id_token_alg: SigningAlg,
    pub created_at: UnixTime,
    /// RFC 8707 resources this client may ask for; empty: only the configured `api_audience`.
    pub resources: Vec<String>,
    /// The organisation that owns the client (it admits only that organisation's members, and
    /// every grant it gets is in that organisation); `None`: the operator's (first-party,
    /// every organisation).
    pub org_id: Option<OrgId>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Exact match, or for a registered loopback URI any port (RFC 8252 §7.3).
    pub fn redirect_uri_allowed(&self, given: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| r == given || loopback_match(r, given))
    }
}

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            && url.scheme() == "http"
}

fn loopback_match(registered: &str, given: &str) -> bool {
    let (Ok(r), Ok(g)) = (Url::parse(registered), Url::parse(given)) else {
        return false;
    };
    is_loopback(&r)
        && is_loopback(&g)
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
        && g.username().is_empty()
        && g.password().is_none()
}

/// Why a URI cannot be registered (a redirect URI, RFC 6749 §3.1.2; a resource, RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The URL parser would drop or encode it; registered URIs are compared as given.
    #[error("`{}` has a control character", .0.escape_debug())]
    ControlCharacter(String),
    #[error("`{uri}` is not an absolute URI: {reason}")]
    NotAbsolute {
        uri: String,
        reason: url::ParseError,
    },
    #[error("`{0}` has a fragment")]
    Fragment(String),
    /// A scheme whose URL runs script or reads local files where a browser follows it.
    #[error(
        "`{0}` uses a scheme that runs code or reads files (javascript:, data:, vbscript:, file:)"
    )]
    Scheme(String),
}

/// Schemes no redirect URI may use: a browser sent there runs script or opens local files.
const DANGEROUS_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

/// An absolute URI, parsed, or why it is not one; control characters refused first.
pub(crate) fn parse_absolute_uri(s: &str) -> Result<Url, UriError> {
    if s.chars().any(char::is_control) {
        return Err(UriError::ControlCharacter(s.to_owned()));
    }
    Url::parse(s).map_err(|reason| UriError::NotAbsolute {
        uri: s.to_owned(),
        reason,
    })
}

/// A redirect URI a client may register: absolute, no fragment (RFC 6749 §3.1.2).
pub fn validate_redirect_uri(s: &str) -> Result<(), UriError> {
    let url = parse_absolute_uri(s)?;
    if url.fragment().is_some() {
        return Err(UriError::Fragment(s.to_owned()));
    }
    if DANGEROUS_SCHEMES.contains(&url.scheme()) {
        return Err(UriError::Scheme(s.to_owned()));
    }
    if url.scheme() == "http" && !is_loopback(&url) && url.host_str() != Some("localhost") {
        tracing::warn!(uri = s, "plain-http redirect URI registered");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port() {
        let c = |uris: &[&str]| Client {
            id: ClientId::new("c"),
            name: "c".into(),
            secret_hash: None,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: Scopes::default(),
            skip_consent: false,
            access_token_format: TokenFormat::Opaque,
            access_token_ttl: 3600,
            refresh_idle_ttl: 1,
            refresh_absolute_ttl: 1,
            always_issue_refresh: false,
            id_token_alg: SigningAlg::Rs256,
            created_at: 0,
            resources: vec![],
            org_id: None,
        };
        let native = c(&["http://127.0.0.1/callback", "https://app.example/cb"]);
        assert!(native.redirect_uri_allowed("http://127.0.0.1:51234/callback"));
        assert!(native.redirect_uri_allowed("https://app.example/cb"));
        assert!(!native.redirect_uri_allowed("https://app.example/cb/"));
        assert!(!native.redirect_uri_allowed("https://app.example:8443/cb"));
        assert!(!native.redirect_uri_allowed("http://127.0.0.1:5000/other"));
        assert!(!native.redirect_uri_allowed("http://localhost:5000/callback"));
        let v6 = c(&["http://[::1]/cb"]);
        assert!(v6.redirect_uri_allowed("http://[::1]:8080/cb"));
    }

    /// The operator reads these from `mintgate client create`: the text of the strings they
    /// replaced.
    #[test]
    fn uri_errors_say_what_is_wrong() {
        let e = |s: &str| validate_redirect_uri(s).unwrap_err().to_string();
        assert_eq!(
            e("https://a.example/cb#x"),
            "`https://a.example/cb#x` has a fragment"
        );
        assert_eq!(
            e("/cb"),
            "`/cb` is not an absolute URI: relative URL without a base"
        );
        assert_eq!(
            e("https://a\0.example/"),
            "`https://a\\0.example/` has a control character"
        );
        assert_eq!(
            e("https://a.example/\n"),
            "`https://a.example/\\n` has a control character"
        );
        assert_eq!(
            "implicit".parse::<GrantType>().unwrap_err().to_string(),
            "unknown grant type `implicit`"
        );
    }
}

/// One authorisation of a client by a user (or by itself, for client credentials): the family
/// that codes, access tokens and refresh tokens belong to and are revoked with.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: GrantId,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    /// Set when the family is bound to a browser session (no `offline_access`).
    pub sid: Option<Sid>,
    pub scope: Scopes,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// RFC 8707 resources the authorization granted; empty: the default audience only.
    pub resources: Vec<String>,
    /// The organisation the grant was made in (the user acts there with every token of the
    /// family: `org_id` claims, `groups`, API scopes); `None`: no organisation.
    pub org_id: Option<OrgId>,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub code_hash: HashedAuthCode,
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub resource: Option<String>,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct AccessTokenRecord {
    pub token_hash: HashedAccessToken,
    pub grant_id: Option<GrantId>,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub audience: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub token_hash: HashedRefreshToken,
    pub grant_id: GrantId,
    pub created_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// A remembered consent, as listed on the account page.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub client_id: ClientId,
    pub client_name: String,
    pub scope: Scopes,
    pub created_at: UnixTime,
}

/// The state of an RFC 8628 device authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "approved" => DeviceStatus::Approved,
            "denied" => DeviceStatus::Denied,
            "consumed" => DeviceStatus::Consumed,
            _ => DeviceStatus::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code_hash: HashedDeviceCode,
    pub user_code: String,
    pub client_id: ClientId,
    pub scope: Scopes,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub interval: i64,
    pub last_polled_at: Option<UnixTime>,
    pub status: DeviceStatus,
    pub user_id: Option<UserId>,
    pub granted_scope: Option<Scopes>,
    pub auth_time: Option<UnixTime>,
    pub amr: Vec<String>,
    /// Where it was requested from, as [`crate::netaddr::subscriber`] gives it (for the per-address limit).
    pub client_addr: Option<String>,
    /// The organisation the approval was given in (set with the approval).
    pub org_id: Option<OrgId>,
}
