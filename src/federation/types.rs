//! Connections, domains and external identities, as the federation domain sees them.

use serde::{Deserialize, Serialize};

use crate::accounts::types::Role;
use crate::clock::UnixTime;
use crate::ids::{ConnectionId, OrgId, UserId};

/// An organisation's SSO connection. The upstream client secret (later a SAML private key) is
/// not here: it is stored sealed and read only by the sign-in that needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnectionId,
    pub org_id: OrgId,
    pub name: String,
    pub enabled: bool,
    pub created_at: UnixTime,
    pub protocol: Protocol,
}

/// What the connection speaks, with its settings. Stored as `kind` + JSON `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    Oidc(OidcConfig),
    Saml(SamlConfig),
}

impl Protocol {
    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Protocol::Oidc(_) => "oidc",
            Protocol::Saml(_) => "saml",
        }
    }
}

/// An upstream OpenID Provider: its issuer (discovery at
/// `<issuer>/.well-known/openid-configuration`), our client id there, and how its claims map
/// onto a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub mapping: AttributeMapping,
}

/// An upstream SAML 2.0 identity provider, as its metadata describes it (issue #12), and our
/// service provider's side of the connection. Our SP private key is the connection's sealed
/// secret (PKCS#8 DER, sealed under the connection id), never in this JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlConfig {
    /// The IdP's `entityID`: the `Issuer` its Responses and Assertions must carry.
    pub idp_entity_id: String,
    /// The IdP's `SingleSignOnService` for the HTTP-Redirect binding.
    pub sso_url: String,
    /// The IdP's signing certificates (base64 DER) from its metadata: a Response or Assertion
    /// must be signed by one of these (a `KeyInfo` in the message is ignored).
    pub idp_certs: Vec<String>,
    /// Our SP certificate for this connection (base64 DER, self-signed for the sealed key): in
    /// our SP metadata for signing AuthnRequests and for the IdP to encrypt assertions to.
    pub sp_cert: String,
    /// Whether an unsolicited (IdP-initiated) Response is accepted; off by default (it cannot
    /// be bound to a browser's flow, so it is open to login CSRF).
    #[serde(default)]
    pub allow_idp_initiated: bool,
    /// Which SAML attribute gives each user attribute.
    pub mapping: AttributeMapping,
}

/// Which upstream claim (or SAML attribute) gives each user attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMapping {
    pub email: String,
    pub name: String,
    pub username: String,
    pub groups: String,
}

impl Default for AttributeMapping {
    /// The OpenID Connect standard claims, which Okta and Microsoft Entra ID both send (Entra ID
    /// sends `groups` as object ids unless configured to send names).
    fn default() -> Self {
        Self {
            email: "email".into(),
            name: "name".into(),
            username: "preferred_username".into(),
            groups: "groups".into(),
        }
    }
}

/// An e-mail domain an organisation claims; verified at most by one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDomain {
    pub org_id: OrgId,
    /// Lower-case, without a trailing dot.
    pub domain: String,
    /// The value the DNS TXT record `_mintgate-challenge.<domain>` must hold.
    pub challenge: String,
    pub created_at: UnixTime,
    pub verified_at: Option<UnixTime>,
}

/// A user's identity at a connection's IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub connection_id: ConnectionId,
    pub subject: String,
    pub user_id: UserId,
}

/// A user's membership in an organisation that requires SSO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoMembership {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
}
