//! The IdP's metadata (SAML 2.0 Metadata §2.4.3, IDPSSODescriptor): its entity ID, a signing
//! certificate for every published RS256 key (current, next and retired, like the JWKS, so an
//! SP that refreshes the metadata knows the next key before it signs), and the single sign-on
//! service by HTTP-Redirect and HTTP-POST. No SingleLogoutService: single logout is not
//! supported.

use super::error::SamlIdpError;
use super::types::{NAMEID_EMAIL, NAMEID_PERSISTENT};
use super::xml;
use crate::clock::UnixTime;
use crate::saml::certs;
use crate::web::paths::{SAML_IDP_METADATA, SAML_SSO};

pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The IdP's entity ID: its metadata URL.
pub fn entity_id(issuer: &str) -> String {
    format!("{issuer}{SAML_IDP_METADATA}")
}

/// The name in the certificates of our keys: the issuer (a CN holds at most 64 characters).
pub fn cert_name(issuer: &str) -> String {
    issuer.chars().take(64).collect()
}

/// The certificate (DER) of an RS256 key (PKCS#8 DER, created at `created_at`).
pub fn certificate(
    issuer: &str,
    pkcs8: &[u8],
    created_at: UnixTime,
) -> Result<Vec<u8>, SamlIdpError> {
    certs::self_signed(pkcs8, &cert_name(issuer), created_at)
        .map_err(|e| SamlIdpError::Signing(e.to_string()))
}

/// The metadata document; `keys`: every published RS256 key (PKCS#8 DER, creation time).
pub fn document(issuer: &str, keys: &[(&[u8], UnixTime)]) -> Result<String, SamlIdpError> {
    let mut key_descriptors = String::new();
    for (pkcs8, created_at) in keys {
        let der = certificate(issuer, pkcs8, *created_at)?;
        key_descriptors.push_str(&format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
            certs::to_base64(&der)
        ));
    }
    let sso = xml::attr(&format!("{issuer}{SAML_SSO}"));
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{entity}\">\
<md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
{key_descriptors}\
<md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>\
<md:NameIDFormat>{NAMEID_PERSISTENT}</md:NameIDFormat>\
<md:SingleSignOnService Binding=\"{HTTP_REDIRECT}\" Location=\"{sso}\"/>\
<md:SingleSignOnService Binding=\"{HTTP_POST}\" Location=\"{sso}\"/>\
</md:IDPSSODescriptor></md:EntityDescriptor>",
        entity = xml::attr(&entity_id(issuer)),
    ))
}
