//! X.509 certificates for SAML keys. SAML metadata carries keys as certificates (SAML 2.0
//! Metadata §2.4.1.1, `ds:X509Certificate`); SAML2Int has them self-signed and trusts them by
//! being in the metadata, not by a chain. The certificate of a key is derived from the key alone
//! (serial from the public key's hash, validity from the given time, RSA PKCS#1 v1.5 signatures
//! being deterministic), so every instance derives the same bytes without storing them.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::RsaKeyPair;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::x509::{X509, X509NameBuilder};
use sha2::{Digest, Sha256};

use crate::clock::UnixTime;

/// How long a derived certificate is valid. SAML2Int peers do not check it (the metadata is
/// the trust), but some SPs refuse an expired one: ten years outlives any key rotation.
const VALID_FOR: i64 = 10 * 365 * 86_400;

#[derive(Debug, thiserror::Error)]
#[error("certificate: {0}")]
pub struct CertError(String);

fn err(e: impl std::fmt::Display) -> CertError {
    CertError(e.to_string())
}

/// A new RSA-2048 private key, PKCS#8 DER (RSA, for RSA-SHA256: what SAML peers all verify).
pub fn generate_rsa_key() -> Result<Vec<u8>, CertError> {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(err)?;
    Ok(key.as_der().map_err(err)?.as_ref().to_vec())
}

/// The self-signed certificate (DER) of the RSA key `pkcs8_der`, named `common_name`, valid
/// from `not_before`. The same inputs give the same bytes.
pub fn self_signed(
    pkcs8_der: &[u8],
    common_name: &str,
    not_before: UnixTime,
) -> Result<Vec<u8>, CertError> {
    let key = PKey::private_key_from_pkcs8(pkcs8_der).map_err(err)?;
    let public = key.public_key_to_der().map_err(err)?;
    let digest = Sha256::digest(&public);
    let mut serial_bytes = digest[..16].to_vec();
    serial_bytes[0] &= 0x7f; // a positive INTEGER
    let serial_bn = BigNum::from_slice(&serial_bytes).map_err(err)?;
    let serial = Asn1Integer::from_bn(&serial_bn).map_err(err)?;
    let mut name = X509NameBuilder::new().map_err(err)?;
    name.append_entry_by_text("CN", common_name).map_err(err)?;
    let name = name.build();
    let mut cert = X509::builder().map_err(err)?;
    cert.set_version(2).map_err(err)?;
    cert.set_serial_number(&serial).map_err(err)?;
    cert.set_subject_name(&name).map_err(err)?;
    cert.set_issuer_name(&name).map_err(err)?;
    cert.set_pubkey(&key).map_err(err)?;
    let (from, until) = (
        Asn1Time::from_unix(not_before).map_err(err)?,
        Asn1Time::from_unix(not_before + VALID_FOR).map_err(err)?,
    );
    cert.set_not_before(&from).map_err(err)?;
    cert.set_not_after(&until).map_err(err)?;
    cert.sign(&key, MessageDigest::sha256()).map_err(err)?;
    cert.build().to_der().map_err(err)
}

/// A certificate as metadata carries it (`ds:X509Certificate`: base64 of the DER).
pub fn to_base64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// A certificate from metadata or configuration: base64 DER, whitespace ignored, or PEM.
/// `None` when it is not a parsable X.509 certificate.
pub fn parse(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body).ok()?;
    X509::from_der(&der).ok().map(|_| der)
}

/// PEM of a DER certificate (for tools and files that want PEM).
pub fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_derives_one_certificate_that_parses() {
        let key = generate_rsa_key().unwrap();
        let a = self_signed(&key, "mintgate", 1_800_000_000).unwrap();
        let b = self_signed(&key, "mintgate", 1_800_000_000).unwrap();
        assert_eq!(a, b, "deterministic: every instance derives the same bytes");
        assert_eq!(parse(&to_base64(&a)), Some(a.clone()));
        assert_eq!(parse(&to_pem(&a)), Some(a.clone()));
        let other = self_signed(&generate_rsa_key().unwrap(), "mintgate", 1_800_000_000).unwrap();
        assert_ne!(a, other);
        assert_eq!(parse("not a certificate"), None);
    }
}
