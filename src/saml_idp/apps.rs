//! Registering, listing and deleting SAML apps (the CLI and the settings page share these).

use std::net::IpAddr;

use samael::metadata::{EntityDescriptor, HTTP_POST_BINDING};
use url::Url;

use super::error::SamlIdpError;
use super::store::SamlAppStore;
use super::types::{AppConfig, NameIdFormat, SamlApp};
use crate::accounts::service as accounts;
use crate::accounts::store::UserStore;
use crate::accounts::types::Organisation;
use crate::clock::Clock;
use crate::ids::{OrgId, SamlAppId, UserId};
use crate::mfa::store::FactorStore;
use crate::saml::{bindings, certs};
use crate::store::StoreError;

const MAX_ENTITY_ID: usize = 1024;
const MAX_URL: usize = 2048;
const MAX_NAME: usize = 200;

/// What registers an app: an entity ID and ACS URL, or the SP's metadata (which gives both,
/// and its signing certificate), or both (the explicit values win).
#[derive(Debug, Default, Clone)]
pub struct NewApp {
    pub org_id: Option<OrgId>,
    pub name: Option<String>,
    pub entity_id: Option<String>,
    pub acs_url: Option<String>,
    pub metadata: Option<String>,
    pub nameid_format: Option<String>,
}

/// What mintgate reads from an SP's metadata.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    pub entity_id: Option<String>,
    /// HTTP-POST ACS URLs, the default (or lowest index) first.
    pub acs_urls: Vec<String>,
    /// The first `use="signing"` (or use-less) certificate, base64 DER.
    pub signing_cert: Option<String>,
}

/// Reads an SP's metadata (guarded like any SAML message: size, no DOCTYPE).
pub fn parse_sp_metadata(xml: &str) -> Result<SpMetadata, SamlIdpError> {
    let bad = |why: &str| SamlIdpError::invalid(format!("the SP metadata {why}"));
    let xml = bindings::guard(xml.as_bytes().to_vec()).map_err(|e| bad(&e.to_string()))?;
    let md: EntityDescriptor = xml.parse().map_err(|_| bad("is not SAML metadata"))?;
    let sp = md
        .sp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or_else(|| bad("has no SPSSODescriptor"))?;
    let mut acs: Vec<_> = sp
        .assertion_consumer_services
        .iter()
        .filter(|e| e.binding == HTTP_POST_BINDING)
        .collect();
    acs.sort_by_key(|e| (e.is_default != Some(true), e.index));
    let mut signing_cert = None;
    for kd in sp.key_descriptors.iter().flatten() {
        if kd.key_use.as_deref().is_some_and(|u| u != "signing") {
            continue;
        }
        if let Some(cert) = kd
            .key_info
            .x509_data
            .as_ref()
            .and_then(|d| d.certificates.first())
        {
            let der = certs::parse(cert).ok_or_else(|| bad("has an unreadable certificate"))?;
            signing_cert = Some(certs::to_base64(&der));
            break;
        }
    }
    Ok(SpMetadata {
        entity_id: md.entity_id.clone(),
        acs_urls: acs.iter().map(|e| e.location.clone()).collect(),
        signing_cert,
    })
}

/// An ACS URL: https, or http on a loopback address (a developer's SP); no fragment, no
/// credentials, no control characters.
pub fn validate_acs_url(raw: &str) -> Result<String, SamlIdpError> {
    let bad = |why: &str| SamlIdpError::invalid(format!("the ACS URL {why}"));
    if raw.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(bad("is required"));
    }
    if raw.len() > MAX_URL || raw.chars().any(char::is_whitespace) {
        return Err(bad("is too long or contains spaces"));
    }
    let url = Url::parse(raw).map_err(|_| bad("must be an absolute URL"))?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not have a fragment or credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if is_loopback(&url) => Ok(raw.to_owned()),
        _ => Err(bad(
            "must use https:// (http:// only on a loopback address)",
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn validate_entity_id(raw: &str) -> Result<String, SamlIdpError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(SamlIdpError::invalid("the entity ID is required"));
    }
    if value.len() > MAX_ENTITY_ID || value.chars().any(char::is_control) {
        return Err(SamlIdpError::invalid(
            "the entity ID is too long or contains control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Registers an app.
pub fn add<S: SamlAppStore>(
    store: &S,
    clock: &dyn Clock,
    input: NewApp,
) -> Result<SamlApp, SamlIdpError> {
    let md = match input.metadata.as_deref().map(str::trim) {
        Some(xml) if !xml.is_empty() => parse_sp_metadata(xml)?,
        _ => SpMetadata::default(),
    };
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let entity_id = given(input.entity_id)
        .or(md.entity_id.clone())
        .ok_or_else(|| SamlIdpError::invalid("the entity ID is required"))?;
    let entity_id = validate_entity_id(&entity_id)?;
    let acs_url = given(input.acs_url)
        .or_else(|| md.acs_urls.first().cloned())
        .ok_or_else(|| SamlIdpError::invalid("the ACS URL is required"))?;
    let acs_url = validate_acs_url(&acs_url)?;
    let mut extra_acs_urls = Vec::new();
    for url in &md.acs_urls {
        let url = validate_acs_url(url)?;
        if url != acs_url && !extra_acs_urls.contains(&url) {
            extra_acs_urls.push(url);
        }
    }
    let nameid_format = match given(input.nameid_format) {
        None => NameIdFormat::Email,
        Some(f) => NameIdFormat::parse(&f).ok_or_else(|| {
            SamlIdpError::invalid("the NameID format must be email or persistent")
        })?,
    };
    let name = given(input.name).unwrap_or_else(|| entity_id.clone());
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(SamlIdpError::invalid(
            "the name is too long or contains control characters",
        ));
    }
    let app = SamlApp {
        id: SamlAppId::generate(),
        org_id: input.org_id,
        name,
        entity_id,
        acs_url,
        nameid_format,
        config: AppConfig {
            signing_cert: md.signing_cert,
            extra_acs_urls,
        },
        created_at: clock.now(),
    };
    match store.insert_saml_app(&app) {
        Ok(()) => Ok(app),
        Err(StoreError::Conflict(_)) => Err(SamlIdpError::EntityIdTaken),
        Err(e) => Err(e.into()),
    }
}

/// The organisation whose SAML apps `actor` manages on the settings page: the session's active
/// one when they administer it; refused to a session short of the organisation MFA rule.
pub fn administered_org<S: UserStore + FactorStore>(
    store: &S,
    actor: &UserId,
    amr: &[String],
    active: Option<&OrgId>,
) -> Result<Organisation, SamlIdpError> {
    accounts::administered_orgs(store, actor, amr, active)
        .map_err(|e| match e {
            accounts::AccountError::SecondFactorRequired => SamlIdpError::SecondFactorRequired,
            accounts::AccountError::Store(e) => SamlIdpError::Store(e),
            _ => SamlIdpError::NotAdmin,
        })?
        .into_iter()
        .next()
        .ok_or(SamlIdpError::NotAdmin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acs_urls_are_https_or_loopback_http() {
        for ok in [
            "https://sp.example.com/acs",
            "http://127.0.0.1:8080/acs",
            "http://localhost/acs?x=1",
        ] {
            assert!(validate_acs_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://sp.example.com/acs",
            "javascript:alert(1)",
            "https://u:p@sp.example.com/",
            "https://sp.example.com/#f",
            "https://sp.example.com/\nx",
            "/acs",
        ] {
            assert!(validate_acs_url(bad).is_err(), "{bad}");
        }
    }
}
