//! What an XML signature may contain before xmlsec sees it. xmlsec processes a signature's
//! `Reference`s (fetching their URIs, running their transforms) *before* it knows whether the
//! signature verifies: a message anyone can post could otherwise make the server fetch a URL
//! (SSRF, `file://`), run an XSLT stylesheet (unbounded CPU), or follow a `RetrievalMethod`.
//! SAML signatures need none of that (SAML Core §5.4: enveloped, same-document reference,
//! exclusive canonicalisation), so everything else is refused here, on the raw document.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const XENC_NS: &[u8] = b"http://www.w3.org/2001/04/xmlenc#";

/// Canonicalisation algorithms (without comments): exclusive (SAML Core §5.4.3), and the
/// inclusive ones some IdPs still use for `SignedInfo`.
const C14N: [&str; 3] = [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
];
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// A reference's transforms: enveloped-signature and one canonicalisation.
const MAX_TRANSFORMS: usize = 2;

/// Why a signature's structure was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeSignature {
    #[error("a signature reference points outside the message")]
    ExternalReference,
    #[error("a signature uses a transform or canonicalisation SAML does not need")]
    Transform,
    #[error("a signature holds a RetrievalMethod, Object, Manifest or CipherReference")]
    Indirection,
    #[error("a signature's SignedInfo must hold exactly one Reference")]
    References,
    #[error("the message is not well-formed XML")]
    Malformed,
}

fn is_ncname(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Checks every signature (and encrypted-data) element of `xml`: each `SignedInfo` holds one
/// `Reference`, whose `URI` is empty or `#id`; transforms are enveloped-signature and
/// canonicalisations only, at most two; `CanonicalizationMethod` is a canonicalisation; no
/// `RetrievalMethod`, `Object`, `Manifest` or `CipherReference` anywhere.
pub fn check(xml: &str) -> Result<(), UnsafeSignature> {
    let mut reader = NsReader::from_str(xml);
    let mut references_in_signed_info: Option<usize> = None;
    let mut transforms = 0usize;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| UnsafeSignature::Malformed)?;
        let (start, empty) = match event {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            Event::End(e) => {
                if matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == DSIG_NS)
                    && e.local_name().as_ref() == b"SignedInfo"
                {
                    if references_in_signed_info != Some(1) {
                        return Err(UnsafeSignature::References);
                    }
                    references_in_signed_info = None;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let ns = match &ns {
            ResolveResult::Bound(n) => n.as_ref().to_vec(),
            _ => continue,
        };
        let local = start.local_name().as_ref().to_vec();
        let algorithm = || {
            start
                .try_get_attribute("Algorithm")
                .ok()
                .flatten()
                .map(|a| String::from_utf8_lossy(&a.value).into_owned())
        };
        if ns == XENC_NS {
            if local == b"CipherReference" {
                return Err(UnsafeSignature::Indirection);
            }
            continue;
        }
        if ns != DSIG_NS {
            continue;
        }
        match local.as_slice() {
            b"SignedInfo" => {
                if empty {
                    return Err(UnsafeSignature::References);
                }
                references_in_signed_info = Some(0);
            }
            b"Reference" => {
                if let Some(n) = references_in_signed_info.as_mut() {
                    *n += 1;
                }
                transforms = 0;
                let uri = start
                    .try_get_attribute("URI")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    .ok_or(UnsafeSignature::ExternalReference)?;
                let same_document = uri.is_empty() || uri.strip_prefix('#').is_some_and(is_ncname);
                if !same_document {
                    return Err(UnsafeSignature::ExternalReference);
                }
            }
            b"Transform" => {
                transforms += 1;
                let allowed =
                    algorithm().is_some_and(|a| a == ENVELOPED || C14N.contains(&a.as_str()));
                if !allowed || transforms > MAX_TRANSFORMS {
                    return Err(UnsafeSignature::Transform);
                }
            }
            b"CanonicalizationMethod"
                if !algorithm().is_some_and(|a| C14N.contains(&a.as_str())) =>
            {
                return Err(UnsafeSignature::Transform);
            }
            b"RetrievalMethod" | b"Object" | b"Manifest" | b"SignatureProperties" => {
                return Err(UnsafeSignature::Indirection);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(reference: &str, transforms: &str, extra: &str) -> String {
        format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>{reference}<ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>x</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>x</ds:SignatureValue>{extra}</ds:Signature></samlp:Response>"##
        )
    }

    const GOOD_TRANSFORMS: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform>"#;

    #[test]
    fn a_saml_signature_passes() {
        assert_eq!(
            check(&signed(
                r##"<ds:Reference URI="#_r">"##,
                GOOD_TRANSFORMS,
                ""
            )),
            Ok(())
        );
        assert_eq!(
            check(&signed(r#"<ds:Reference URI="">"#, GOOD_TRANSFORMS, "")),
            Ok(())
        );
    }

    #[test]
    fn fetches_transforms_and_indirections_are_refused() {
        for uri in [
            "http://127.0.0.1:9998/x",
            "file:///dev/zero",
            "#xpointer(/)",
            "other.xml#_r",
        ] {
            let xml = signed(
                &format!(r#"<ds:Reference URI="{uri}">"#),
                GOOD_TRANSFORMS,
                "",
            );
            assert_eq!(
                check(&xml),
                Err(UnsafeSignature::ExternalReference),
                "{uri}"
            );
        }
        let no_uri = signed("<ds:Reference>", GOOD_TRANSFORMS, "");
        assert_eq!(check(&no_uri), Err(UnsafeSignature::ExternalReference));
        for transform in [
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
            "http://www.w3.org/2002/06/xmldsig-filter2",
            "http://www.w3.org/2000/09/xmldsig#base64",
        ] {
            let xml = signed(
                r##"<ds:Reference URI="#_r">"##,
                &format!(r#"<ds:Transform Algorithm="{transform}"/>"#),
                "",
            );
            assert_eq!(check(&xml), Err(UnsafeSignature::Transform), "{transform}");
        }
        let three = format!(
            "{GOOD_TRANSFORMS}<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
        );
        let xml = signed(r##"<ds:Reference URI="#_r">"##, &three, "");
        assert_eq!(check(&xml), Err(UnsafeSignature::Transform));
        for extra in [
            r#"<ds:KeyInfo><ds:RetrievalMethod URI="http://x/"/></ds:KeyInfo>"#,
            "<ds:Object><ds:Manifest/></ds:Object>",
        ] {
            let xml = signed(r##"<ds:Reference URI="#_r">"##, GOOD_TRANSFORMS, extra);
            assert_eq!(check(&xml), Err(UnsafeSignature::Indirection), "{extra}");
        }
        let two_references = signed(
            r##"<ds:Reference URI="#_r"><ds:Transforms/><ds:DigestMethod Algorithm="x"/><ds:DigestValue>x</ds:DigestValue></ds:Reference><ds:Reference URI="#_r">"##,
            GOOD_TRANSFORMS,
            "",
        );
        assert_eq!(check(&two_references), Err(UnsafeSignature::References));
        let cipher = r#"<r xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherReference URI="http://x/"/></xenc:CipherData></r>"#;
        assert_eq!(check(cipher), Err(UnsafeSignature::Indirection));
        let c14n_xslt = signed(r##"<ds:Reference URI="#_r">"##, GOOD_TRANSFORMS, "").replace(
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
        );
        assert_eq!(check(&c14n_xslt), Err(UnsafeSignature::Transform));
    }
}
