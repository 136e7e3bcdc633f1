//! SAML apps: the service providers mintgate signs users in to.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::ids::{OrgId, SamlAppId};

/// The NameID an app receives (SAML 2.0 Core §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameIdFormat {
    /// The user's e-mail address (`…:1.1:nameid-format:emailAddress`).
    Email,
    /// A stable opaque identifier per user and app (`…:2.0:nameid-format:persistent`): two
    /// apps cannot correlate their users by it.
    Persistent,
}

impl NameIdFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            NameIdFormat::Email => "email",
            NameIdFormat::Persistent => "persistent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(NameIdFormat::Email),
            "persistent" => Some(NameIdFormat::Persistent),
            _ => None,
        }
    }

    /// The format's URI.
    pub fn uri(self) -> &'static str {
        match self {
            NameIdFormat::Email => NAMEID_EMAIL,
            NameIdFormat::Persistent => NAMEID_PERSISTENT,
        }
    }
}

pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// What an app's `config` column holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppConfig {
    /// The SP's signing certificate (base64 DER) from its metadata: when set, every
    /// AuthnRequest must be signed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_cert: Option<String>,
    /// Further ACS URLs (HTTP-POST) the SP's metadata lists; a request naming one of them
    /// is answered there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_acs_urls: Vec<String>,
}

/// A registered service provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlApp {
    pub id: SamlAppId,
    /// `None`: an operator app, open to every user; otherwise only that organisation's members.
    pub org_id: Option<OrgId>,
    pub name: String,
    pub entity_id: String,
    pub acs_url: String,
    pub nameid_format: NameIdFormat,
    pub config: AppConfig,
    pub created_at: UnixTime,
}

impl SamlApp {
    /// The ACS to answer at: the request's `AssertionConsumerServiceURL` when it is one the
    /// app registered (exactly), the registered one when the request names none; `None`
    /// otherwise (never anywhere else).
    pub fn acs_for(&self, asked: Option<&str>) -> Option<&str> {
        match asked {
            None => Some(&self.acs_url),
            Some(url) if url == self.acs_url => Some(&self.acs_url),
            Some(url) => self
                .config
                .extra_acs_urls
                .iter()
                .find(|u| u.as_str() == url)
                .map(String::as_str),
        }
    }
}
