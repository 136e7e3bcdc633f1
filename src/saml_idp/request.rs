//! An incoming AuthnRequest (SAML 2.0 Core §3.4.1): decoded and guarded by the binding, parsed,
//! and, when its app has a signing certificate, verified against THAT certificate only (never
//! one the message carries): by the query signature for HTTP-Redirect (Bindings §3.4.4.1), by
//! the enveloped XML signature for HTTP-POST.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use samael::crypto::CertificateDer;
use samael::idp::verified_request::UnverifiedAuthnRequest;
use samael::schema::AuthnRequest;
use samael::signature::{DigestAlgorithm, SignatureAlgorithm};

use super::types::SamlApp;
use crate::saml::{bindings, certs};

pub const SIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// How the request came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// HTTP-Redirect: the raw query string (its signature covers the parameters as sent).
    Redirect { query: String },
    /// HTTP-POST: the form's `SAMLRequest` (base64) and `RelayState`.
    Post {
        message: String,
        relay_state: Option<String>,
    },
}

/// What the IdP uses of an AuthnRequest (decoded; the signature, if any, not yet checked).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub id: String,
    pub issuer: String,
    pub acs_url: Option<String>,
    /// Where the SP sent it (must be our SSO service when present, Core §3.2.1).
    pub destination: Option<String>,
    pub protocol_binding: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub relay_state: Option<String>,
    /// When the SP made it (Unix seconds).
    pub issue_instant: i64,
    /// What the signature check needs.
    proof: Proof,
}

#[derive(Debug, Clone)]
enum Proof {
    Redirect {
        signed: Option<(String, String, Vec<u8>)>,
    },
    Post {
        xml: String,
    },
}

/// Why a request was refused (shown on the error page; never answered at any ACS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the SAML request could not be read: {0}")]
    Unreadable(String),
    #[error("the SAML request's signature is missing or not valid")]
    BadSignature,
}

/// The largest RelayState kept (Bindings §3.4.3: 80 bytes are required; SPs send more).
pub const MAX_RELAY_STATE: usize = 1024;

fn unreadable(why: impl std::fmt::Display) -> RequestError {
    RequestError::Unreadable(why.to_string())
}

/// A query parameter's value as sent (`+` and `%XX` decoded, form style).
fn percent_decode(raw: &str) -> Result<String, RequestError> {
    let pair = format!("v={raw}");
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| unreadable("a parameter cannot be decoded"))
}

/// Decodes and parses the request.
pub fn parse(incoming: &Incoming) -> Result<Parsed, RequestError> {
    let (xml, relay_state, proof) = match incoming {
        Incoming::Redirect { query } => {
            let mut raw: [Option<&str>; 4] = [None; 4];
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let slot = match name {
                    "SAMLRequest" => 0,
                    "RelayState" => 1,
                    "SigAlg" => 2,
                    "Signature" => 3,
                    _ => continue,
                };
                if raw[slot].is_some() {
                    return Err(unreadable("a parameter is repeated"));
                }
                raw[slot] = Some(value);
            }
            let request = raw[0].ok_or_else(|| unreadable("SAMLRequest is missing"))?;
            let xml = bindings::decode_redirect(&percent_decode(request)?).map_err(unreadable)?;
            let relay_state = raw[1].map(percent_decode).transpose()?;
            let signed = match (raw[2], raw[3]) {
                (Some(alg), Some(sig)) => {
                    // Bindings §3.4.4.1: the octets signed are the parameters as sent.
                    let mut octets = format!("SAMLRequest={request}");
                    if let Some(rs) = raw[1] {
                        octets.push_str(&format!("&RelayState={rs}"));
                    }
                    octets.push_str(&format!("&SigAlg={alg}"));
                    let sig = STANDARD
                        .decode(percent_decode(sig)?.trim())
                        .map_err(|_| RequestError::BadSignature)?;
                    Some((percent_decode(alg)?, octets, sig))
                }
                (None, None) => None,
                _ => return Err(RequestError::BadSignature),
            };
            (xml, relay_state, Proof::Redirect { signed })
        }
        Incoming::Post {
            message,
            relay_state,
        } => {
            let xml = bindings::decode_post(message).map_err(unreadable)?;
            (xml.clone(), relay_state.clone(), Proof::Post { xml })
        }
    };
    if relay_state
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return Err(unreadable("RelayState is too long"));
    }
    let request: AuthnRequest = xml
        .parse()
        .map_err(|_| unreadable("it is not an AuthnRequest"))?;
    let issuer = request
        .issuer
        .as_ref()
        .and_then(|i| i.value.as_deref())
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| unreadable("it names no Issuer"))?
        .to_owned();
    if request.version != "2.0" || request.id.is_empty() || request.id.len() > 256 {
        return Err(unreadable("its version or ID is not valid"));
    }
    Ok(Parsed {
        id: request.id.clone(),
        issuer,
        acs_url: request.assertion_consumer_service_url.clone(),
        destination: request.destination.clone(),
        protocol_binding: request.protocol_binding.clone(),
        force_authn: request.force_authn.unwrap_or(false),
        is_passive: request.is_passive.unwrap_or(false),
        relay_state,
        issue_instant: request.issue_instant.timestamp(),
        proof,
    })
}

/// Checks the signature an app with a signing certificate requires (nothing to check for an
/// app without one).
pub fn verify(parsed: &Parsed, app: &SamlApp) -> Result<(), RequestError> {
    let Some(cert) = app.config.signing_cert.as_deref() else {
        return Ok(());
    };
    let der = certs::parse(cert).ok_or(RequestError::BadSignature)?;
    match &parsed.proof {
        Proof::Redirect { signed: None } => Err(RequestError::BadSignature),
        Proof::Redirect {
            signed: Some((alg, octets, sig)),
        } => {
            if alg != SIG_RSA_SHA256 {
                return Err(RequestError::BadSignature);
            }
            let ok = X509::from_der(&der)
                .and_then(|c| c.public_key())
                .and_then(|key| {
                    let mut v = Verifier::new(MessageDigest::sha256(), &key)?;
                    v.update(octets.as_bytes())?;
                    v.verify(sig)
                })
                .unwrap_or(false);
            ok.then_some(()).ok_or(RequestError::BadSignature)
        }
        Proof::Post { xml } => verify_enveloped(xml, &parsed.id, der),
    }
}

/// The enveloped signature of a POSTed request: exactly one `Signature` element in the document
/// (xmlsec verifies the first it finds while the fields come from the root: with one, they are
/// the same), referencing the root's ID, RSA-SHA256 over SHA-256.
fn verify_enveloped(xml: &str, id: &str, cert_der: Vec<u8>) -> Result<(), RequestError> {
    let bad = RequestError::BadSignature;
    crate::saml::init();
    if signature_elements(xml) != 1 {
        return Err(bad);
    }
    // Before xmlsec processes any reference or transform (it does so before it knows whether
    // the signature verifies: an XSLT transform would run for anyone who posts one).
    crate::saml::dsig::check(xml).map_err(|_| bad.clone())?;
    let unverified = UnverifiedAuthnRequest::from_xml(xml).map_err(|_| bad.clone())?;
    let sig = unverified.request.signature.as_ref().ok_or(bad.clone())?;
    let reference = match sig.signed_info.reference.as_slice() {
        [only] => only,
        _ => return Err(bad),
    };
    if reference.uri.as_deref() != Some(&format!("#{id}"))
        || sig.signed_info.signature_method.algorithm != SignatureAlgorithm::RsaSha256
        || reference.digest_method.algorithm != DigestAlgorithm::Sha256
    {
        return Err(bad);
    }
    unverified
        .try_verify_with_cert(&CertificateDer::from(cert_der))
        .map(|_| ())
        .map_err(|_| bad)
}

/// How many elements named `Signature` (any prefix) the document has.
fn signature_elements(xml: &str) -> usize {
    xml.match_indices('<')
        .filter(|(i, _)| {
            let rest = &xml[i + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            name == "Signature" || name.ends_with(":Signature")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_parameters_are_decoded_once() {
        let query = "SAMLRequest=fZFBS8NAEIX%2FyrL3uNtgAx2SQDWolYoliYLe1mRtF5LduDOR9t%2B7ba3FS4%2FzeG%2Fex0xqUcJ8pI0t9deokdi27yxCkDM%2BegtOoQmj6jUCNVDNn5YQX0kYvCPXuI7%2FBSaXAwpRezLOcrYoMm7aaLpuy8c3Fxey217PdnTP2av2GCwZD4ngQxz1wiIpS0GScRJN4kgmtZyBTGCavHNWBGZjFR1SG6IBhDDtIFD1nUB0nK1%2BSW%2BMbY1dX6b8OJoQHup6Fa2eq5qz%2BYn81lkce%2B0r7b9No1%2FK5bESQycOQjXI8zQcAg7gnt053yu6XLhXwi0%2BD1bQlgzteH7emorzwnw%2F%2FH9X%2FgM%3D&RelayState=state+%3C%26%3E+1";
        let parsed = parse(&Incoming::Redirect {
            query: query.into(),
        })
        .unwrap();
        assert_eq!(parsed.relay_state.as_deref(), Some("state <&> 1"));
        assert_eq!(parsed.issuer, "https://sp");
        assert_eq!(parsed.acs_url.as_deref(), Some("https://sp/acs"));
    }
}
