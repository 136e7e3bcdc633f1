//! SAML 2.0 Bindings (OASIS saml-bindings-2.0-os): HTTP-Redirect (§3.4: DEFLATE, then base64,
//! then URL-encoded) and HTTP-POST (§3.5: base64 in a form field), with the limits and the
//! guard that run before any XML parser sees a message.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

/// The largest SAML message accepted (decoded XML). Real Responses with a few certificates and
/// dozens of attributes stay well under this; more is a denial-of-service attempt.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Why an encoded message was refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("the SAML message is not valid base64")]
    Base64,
    #[error("the SAML message is not valid DEFLATE data")]
    Deflate,
    #[error("the SAML message is too large")]
    TooLarge,
    #[error("the SAML message is not UTF-8 text")]
    NotUtf8,
    /// A DOCTYPE (and so entity declarations: billion laughs, external entities) has no place
    /// in SAML (SAML 2.0 Core §1.3 schemas; SAML2Int): refused before parsing.
    #[error("the SAML message contains a DOCTYPE")]
    Doctype,
    /// Anything but UTF-8: a parser that detects UTF-16 (from `<\0?\0`, no BOM needed) or
    /// obeys an `encoding=` declaration would read a DOCTYPE this guard cannot see.
    #[error("the SAML message is not UTF-8 XML")]
    Encoding,
}

/// The guard every decoded message passes: bounded, UTF-8, no DOCTYPE or entity declaration
/// (matched case-insensitively anywhere, so neither whitespace tricks nor comments hide one).
pub fn guard(xml: Vec<u8>) -> Result<String, BindingError> {
    if xml.len() > MAX_MESSAGE_BYTES {
        return Err(BindingError::TooLarge);
    }
    let text = String::from_utf8(xml).map_err(|_| BindingError::NotUtf8)?;
    // XML 1.0 allows no NUL (§2.2); UTF-16 text read as UTF-8 is full of them.
    if text.contains('\0') {
        return Err(BindingError::Encoding);
    }
    let upper = text.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(BindingError::Doctype);
    }
    if let Some(declared) = declared_encoding(&upper)
        && declared != "UTF-8"
        && declared != "UTF8"
    {
        return Err(BindingError::Encoding);
    }
    Ok(text)
}

/// The `encoding` of the XML declaration (upper-cased text), if the document starts with one.
fn declared_encoding(upper: &str) -> Option<String> {
    let rest = upper.trim_start_matches('\u{feff}').strip_prefix("<?XML")?;
    let declaration = &rest[..rest.find("?>")?];
    let after = &declaration[declaration.find("ENCODING")? + "ENCODING".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    let value = after[1..].split(quote).next()?;
    Some(value.trim().to_owned())
}

fn base64_decode(encoded: &str) -> Result<Vec<u8>, BindingError> {
    // Base64 carried in forms and query strings may be wrapped; whitespace is not data.
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() > MAX_MESSAGE_BYTES * 4 / 3 + 4 {
        return Err(BindingError::TooLarge);
    }
    STANDARD.decode(compact).map_err(|_| BindingError::Base64)
}

/// HTTP-POST binding (§3.5.4): the `SAMLResponse` / `SAMLRequest` form field to guarded XML.
pub fn decode_post(encoded: &str) -> Result<String, BindingError> {
    guard(base64_decode(encoded)?)
}

/// HTTP-POST binding: XML to the form field's value.
pub fn encode_post(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// HTTP-Redirect binding (§3.4.4.1): the query parameter's value (already URL-decoded) to
/// guarded XML. The inflated size is bounded while inflating (a DEFLATE bomb stops at the cap).
pub fn decode_redirect(encoded: &str) -> Result<String, BindingError> {
    let compressed = base64_decode(encoded)?;
    let mut out = Vec::new();
    let mut decoder = DeflateDecoder::new(&compressed[..]).take(MAX_MESSAGE_BYTES as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|_| BindingError::Deflate)?;
    guard(out)
}

/// HTTP-Redirect binding: XML to the query parameter's value (before URL-encoding).
pub fn encode_redirect(xml: &str) -> String {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(xml.as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    STANDARD.encode(compressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_round_trips() {
        let xml =
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a"/>"#;
        assert_eq!(decode_redirect(&encode_redirect(xml)).unwrap(), xml);
        assert_eq!(decode_post(&encode_post(xml)).unwrap(), xml);
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        for xml in [
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"b\">]><r/>",
            "<!doctype r><r/>",
            "<r><!ENTITY x SYSTEM \"file:///etc/passwd\"></r>",
        ] {
            assert_eq!(decode_post(&encode_post(xml)), Err(BindingError::Doctype));
            assert_eq!(
                decode_redirect(&encode_redirect(xml)),
                Err(BindingError::Doctype)
            );
        }
    }

    #[test]
    fn other_encodings_are_refused() {
        // UTF-16LE without a BOM: valid UTF-8 bytes (ASCII and NULs) hiding a DOCTYPE.
        let utf16: Vec<u8> = "<?xml version=\"1.0\"?><!DOCTYPE r><r/>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            decode_post(&STANDARD.encode(&utf16)),
            Err(BindingError::Encoding)
        );
        for xml in [
            "<?xml version='1.0' encoding='UTF-7'?><r/>",
            "<?xml version=\"1.0\" encoding = \"ISO-8859-1\" ?><r/>",
        ] {
            assert_eq!(decode_post(&encode_post(xml)), Err(BindingError::Encoding));
        }
        for xml in [
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><r/>",
            "<?xml version=\"1.0\"?><r/>",
            "<r/>",
        ] {
            assert_eq!(decode_post(&encode_post(xml)).unwrap(), xml);
        }
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let bomb = "a".repeat(MAX_MESSAGE_BYTES * 4);
        assert_eq!(
            decode_redirect(&encode_redirect(&bomb)),
            Err(BindingError::TooLarge)
        );
        assert_eq!(decode_post("%%%"), Err(BindingError::Base64));
        assert_eq!(decode_redirect("AAAA"), Err(BindingError::Deflate));
        assert_eq!(
            decode_post(&STANDARD.encode([0xff, 0xfe])),
            Err(BindingError::NotUtf8)
        );
    }
}
