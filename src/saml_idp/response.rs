//! The signed `<samlp:Response>` (SAML 2.0 Core §3.3.3, Web Browser SSO Profile §4.1.4.2),
//! written by hand so that every value is escaped exactly once (samael's builder writes text
//! unescaped: XML injection into a signed assertion), then signed with xmlsec: the Assertion,
//! enveloped, exclusive C14N, RSA-SHA256 over a SHA-256 digest, our certificate in KeyInfo.
//! The signed string is what goes out, never re-parsed and re-serialised.

use chrono::{DateTime, SecondsFormat};
use openssl::pkey::PKey;
use samael::crypto::{Crypto, CryptoProvider};

use super::error::SamlIdpError;
use super::xml;
use crate::authn;
use crate::clock::UnixTime;
use crate::crypto;
use crate::saml::certs;

/// How long the assertion may be presented (its SubjectConfirmationData and Conditions).
pub const VALIDITY: i64 = 300;
/// The clock skew allowed to SPs behind us (Conditions NotBefore).
pub const SKEW: i64 = 30;

pub const AC_PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
/// REFEDS MFA Profile: a sign-in with a second factor.
pub const AC_MFA: &str = "https://refeds.org/profile/mfa";
pub const AC_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";

/// The AuthnContextClassRef a session's `amr` stands for: the REFEDS MFA profile with a
/// second factor, PasswordProtectedTransport for a password alone (over TLS), `unspecified`
/// otherwise (a federated sign-in: the upstream IdP authenticated the user).
pub fn authn_context(amr: &[String]) -> &'static str {
    if authn::meets(amr, authn::ACR_MFA) {
        AC_MFA
    } else if amr.iter().any(|a| a == "pwd") {
        AC_PASSWORD
    } else {
        AC_UNSPECIFIED
    }
}

/// What the Response says.
#[derive(Debug, Clone)]
pub struct Assertion<'a> {
    /// Our entity ID.
    pub issuer: &'a str,
    /// The ACS it is posted to (Destination, Recipient).
    pub acs_url: &'a str,
    /// The SP's entity ID (Audience).
    pub audience: &'a str,
    /// The AuthnRequest's ID; `None` for an unsolicited Response (not sent: we only answer
    /// requests).
    pub in_response_to: Option<&'a str>,
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub session_index: &'a str,
    pub authn_instant: UnixTime,
    pub authn_context: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub groups: &'a [String],
    pub now: UnixTime,
}

/// The signing key: PKCS#8 DER and its certificate (DER).
pub struct SigningKey<'a> {
    pub pkcs8: &'a [u8],
    pub cert_der: &'a [u8],
}

fn instant(t: UnixTime) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A SAML ID: `_` and 128 random bits, hex (an NCName).
pub fn new_id() -> String {
    format!("_{}", crypto::hex_encode(&crypto::random_bytes::<16>()))
}

fn attribute(name: &str, values: &[&str]) -> String {
    let mut out = format!(
        "<saml:Attribute Name=\"{}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\">",
        xml::attr(name)
    );
    for v in values {
        out.push_str(&format!(
            "<saml:AttributeValue>{}</saml:AttributeValue>",
            xml::text(v)
        ));
    }
    out.push_str("</saml:Attribute>");
    out
}

fn signature_template(reference: &str, cert_der: &[u8]) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
<ds:Reference URI=\"#{reference}\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        certs::to_base64(cert_der)
    )
}

/// The unsigned Response with the Assertion's signature template in place.
fn unsigned(a: &Assertion<'_>, response_id: &str, assertion_id: &str, cert_der: &[u8]) -> String {
    let now = instant(a.now);
    let until = instant(a.now + VALIDITY);
    let irt = a
        .in_response_to
        .map(|id| format!(" InResponseTo=\"{}\"", xml::attr(id)))
        .unwrap_or_default();
    let issuer = xml::text(a.issuer);
    let acs = xml::attr(a.acs_url);
    let groups: Vec<&str> = a.groups.iter().map(String::as_str).collect();
    let mut attributes = attribute("email", &[a.email]);
    attributes.push_str(&attribute("name", &[a.name]));
    if !groups.is_empty() {
        attributes.push_str(&attribute("groups", &groups));
    }
    format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{response_id}\" Version=\"2.0\" \
IssueInstant=\"{now}\" Destination=\"{acs}\"{irt}>\
<saml:Issuer>{issuer}</saml:Issuer>\
<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{assertion_id}\" \
Version=\"2.0\" IssueInstant=\"{now}\">\
<saml:Issuer>{issuer}</saml:Issuer>{signature}\
<saml:Subject><saml:NameID Format=\"{format}\">{name_id}</saml:NameID>\
<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
<saml:SubjectConfirmationData{irt} NotOnOrAfter=\"{until}\" Recipient=\"{acs}\"/>\
</saml:SubjectConfirmation></saml:Subject>\
<saml:Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{until}\">\
<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>\
</saml:Conditions>\
<saml:AuthnStatement AuthnInstant=\"{authn_instant}\" SessionIndex=\"{session_index}\">\
<saml:AuthnContext><saml:AuthnContextClassRef>{context}</saml:AuthnContextClassRef>\
</saml:AuthnContext></saml:AuthnStatement>\
<saml:AttributeStatement>{attributes}</saml:AttributeStatement>\
</saml:Assertion></samlp:Response>",
        signature = signature_template(assertion_id, cert_der),
        format = xml::attr(a.name_id_format),
        name_id = xml::text(a.name_id),
        not_before = instant(a.now - SKEW),
        audience = xml::text(a.audience),
        authn_instant = instant(a.authn_instant),
        session_index = xml::attr(a.session_index),
        context = xml::text(a.authn_context),
    )
}

/// The signed Response, as the string to base64 into the POST form.
pub fn signed(a: &Assertion<'_>, key: &SigningKey<'_>) -> Result<String, SamlIdpError> {
    crate::saml::init();
    let xml = unsigned(a, &new_id(), &new_id(), key.cert_der);
    let sign_err = |e: &dyn std::fmt::Display| SamlIdpError::Signing(e.to_string());
    // xmlsec's DER loader takes the traditional (PKCS#1) form of an RSA key.
    let pkcs1 = PKey::private_key_from_pkcs8(key.pkcs8)
        .and_then(|k| k.rsa())
        .and_then(|r| r.private_key_to_der())
        .map_err(|e| sign_err(&e))?;
    Crypto::sign_xml(xml, &pkcs1).map_err(|e| sign_err(&e))
}

#[cfg(test)]
mod tests {
    use samael::crypto::CertificateDer;

    use super::*;

    fn sample<'a>(groups: &'a [String], name: &'a str) -> Assertion<'a> {
        Assertion {
            issuer: "https://idp.example.com/saml/metadata",
            acs_url: "https://sp.example.com/acs?a=1&b=2",
            audience: "https://sp.example.com",
            in_response_to: Some("_req1"),
            name_id: "ada@example.com",
            name_id_format: super::super::types::NAMEID_EMAIL,
            session_index: "sid1",
            authn_instant: 1_800_000_000,
            authn_context: AC_PASSWORD,
            email: "ada@example.com",
            name,
            groups,
            now: 1_800_000_100,
        }
    }

    #[test]
    fn the_assertion_is_signed_and_values_stay_text() {
        let pkcs8 = certs::generate_rsa_key().unwrap();
        let cert = certs::self_signed(&pkcs8, "idp", 1_800_000_000).unwrap();
        let evil = "x</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"groups\"><saml:AttributeValue>admins";
        let groups = vec!["staff".to_owned(), evil.to_owned()];
        let a = sample(&groups, evil);
        let out = signed(
            &a,
            &SigningKey {
                pkcs8: &pkcs8,
                cert_der: &cert,
            },
        )
        .unwrap();
        assert!(out.contains("rsa-sha256") && out.contains("xmlenc#sha256"));
        assert_eq!(out.matches("<saml:Attribute ").count(), 3, "{out}");
        assert!(out.contains("x&lt;/saml:AttributeValue&gt;"));
        Crypto::verify_signed_xml(
            out.as_bytes(),
            &CertificateDer::from(cert.clone()),
            Some("ID"),
        )
        .unwrap();
        let tampered = out.replace("ada@example.com", "eve@example.com");
        assert!(
            Crypto::verify_signed_xml(tampered.as_bytes(), &CertificateDer::from(cert), Some("ID"))
                .is_err()
        );
    }
}
