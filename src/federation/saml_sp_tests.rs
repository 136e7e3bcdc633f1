//! Unit tests of the SP's validation. Responses are written here as XML and signed in-process
//! with xmlsec (through samael's signer); the API tests sign with the `xmlsec1` command.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use samael::crypto::{Crypto, CryptoProvider};

use super::*;
use crate::federation::types::AttributeMapping;

const NOW: UnixTime = 1_800_000_000;
const IDP: &str = "https://idp.example.test/metadata";
const ACS: &str = "https://sp.example.test/auth/saml/conn_a/acs";
const ENTITY: &str = "https://sp.example.test/auth/saml/conn_a/metadata";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

struct Idp {
    key_der: Vec<u8>,
    cert_b64: String,
}

fn idp() -> Idp {
    let rsa = Rsa::generate(2048).unwrap();
    let pkcs8 = PKey::from_rsa(rsa.clone())
        .unwrap()
        .private_key_to_pkcs8()
        .unwrap();
    let cert = crate::saml::certs::self_signed(&pkcs8, "test idp", NOW - 86_400).unwrap();
    Idp {
        key_der: rsa.private_key_to_der().unwrap(),
        cert_b64: crate::saml::certs::to_base64(&cert),
    }
}

fn sp() -> SpEndpoints {
    SpEndpoints {
        entity_id: ENTITY.into(),
        acs_url: ACS.into(),
    }
}

fn config(idp: &Idp) -> (SamlConfig, Vec<u8>) {
    let key = crate::saml::certs::generate_rsa_key().unwrap();
    let cert = crate::saml::certs::self_signed(&key, "sp", NOW - 86_400).unwrap();
    (
        SamlConfig {
            idp_entity_id: IDP.into(),
            sso_url: "https://idp.example.test/sso".into(),
            idp_certs: vec![idp.cert_b64.clone()],
            sp_cert: crate::saml::certs::to_base64(&cert),
            allow_idp_initiated: false,
            mapping: AttributeMapping::default(),
        },
        key,
    )
}

fn t(unix: UnixTime) -> String {
    datetime(unix).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Clone)]
struct Params {
    issuer: String,
    destination: Option<String>,
    in_response_to: Option<String>,
    audience: Option<String>,
    recipient: String,
    issued: UnixTime,
    not_before: UnixTime,
    not_on_or_after: UnixTime,
    name_id: String,
    sign_assertion: bool,
    sign_response: bool,
    sig_alg: &'static str,
    digest: &'static str,
}

fn params() -> Params {
    Params {
        issuer: IDP.into(),
        destination: Some(ACS.into()),
        in_response_to: Some("_req1".into()),
        audience: Some(ENTITY.into()),
        recipient: ACS.into(),
        issued: NOW,
        not_before: NOW - 30,
        not_on_or_after: NOW + 300,
        name_id: "u-123".into(),
        sign_assertion: true,
        sign_response: false,
        sig_alg: RSA_SHA256,
        digest: SHA256,
    }
}

fn template(id: &str, p: &Params, cert: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##,
        p.sig_alg, p.digest
    )
}

fn assertion(p: &Params, sig: &str) -> String {
    let irt = p
        .in_response_to
        .as_ref()
        .map(|i| format!(r#" InResponseTo="{i}""#))
        .unwrap_or_default();
    let audience = p
        .audience
        .as_ref()
        .map(|a| format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>"))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{noa}" Recipient="{recipient}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>bob@acme.test</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>eng</saml:AttributeValue><saml:AttributeValue>ops</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        issued = t(p.issued),
        issuer = p.issuer,
        name = p.name_id,
        noa = t(p.not_on_or_after),
        nb = t(p.not_before),
        recipient = p.recipient,
    )
}

fn response_xml(p: &Params, inner: &str, sig: &str) -> String {
    let irt = p
        .in_response_to
        .as_ref()
        .map(|i| format!(r#" InResponseTo="{i}""#))
        .unwrap_or_default();
    let dest = p
        .destination
        .as_ref()
        .map(|d| format!(r#" Destination="{d}""#))
        .unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{}"{dest}{irt}><saml:Issuer>{}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#,
        t(p.issued),
        p.issuer
    )
}

fn signed(idp: &Idp, p: &Params) -> String {
    let inner = if p.sign_assertion {
        let xml = assertion(p, &template("_a1", p, &idp.cert_b64));
        let signed = Crypto::sign_xml(xml, &idp.key_der).unwrap();
        strip_decl(&signed)
    } else {
        assertion(p, "")
    };
    let xml = if p.sign_response {
        let xml = response_xml(p, &inner, &template("_r1", p, &idp.cert_b64));
        Crypto::sign_xml(xml, &idp.key_der).unwrap()
    } else {
        response_xml(p, &inner, "")
    };
    STANDARD.encode(xml)
}

fn strip_decl(xml: &str) -> String {
    match xml.find("?>") {
        Some(i) if xml.starts_with("<?xml") => xml[i + 2..].trim_start().to_owned(),
        _ => xml.to_owned(),
    }
}

fn check(idp: &Idp, p: &Params) -> Result<Verified, Refusal> {
    let (cfg, key) = config(idp);
    validate_response(&cfg, &sp(), &key, &signed(idp, p), Some("_req1"), NOW)
}

#[test]
fn a_signed_assertion_is_read_from_the_signed_subtree() {
    let idp = idp();
    let v = check(&idp, &params()).unwrap();
    assert_eq!(v.name_id, "u-123");
    assert_eq!(v.assertion_id, "_a1");
    assert_eq!(v.in_response_to.as_deref(), Some("_req1"));
    assert_eq!(v.usable_until, NOW + 300 + SKEW);
    assert_eq!(
        v.attributes,
        vec![
            ("email".to_owned(), vec!["bob@acme.test".to_owned()]),
            (
                "groups".to_owned(),
                vec!["eng".to_owned(), "ops".to_owned()]
            ),
        ]
    );
    let both = Params {
        sign_response: true,
        ..params()
    };
    assert!(check(&idp, &both).is_ok(), "response and assertion signed");
    let response_only = Params {
        sign_response: true,
        sign_assertion: false,
        ..params()
    };
    assert!(check(&idp, &response_only).is_ok(), "response signed");
}

#[test]
fn tampering_and_foreign_or_missing_signatures_are_refused() {
    let idp = idp();
    let good = String::from_utf8(STANDARD.decode(signed(&idp, &params())).unwrap()).unwrap();
    let tampered = good.replace("u-123", "u-124");
    let (cfg, key) = config(&idp);
    let run = |xml: &str, cfg: &SamlConfig| {
        validate_response(cfg, &sp(), &key, &STANDARD.encode(xml), Some("_req1"), NOW)
    };
    assert_eq!(run(&tampered, &cfg), Err(Refusal::BadSignature));
    let tampered_attr = good.replace("bob@acme.test", "eve@acme.test");
    assert_eq!(run(&tampered_attr, &cfg), Err(Refusal::BadSignature));
    let unsigned = Params {
        sign_assertion: false,
        ..params()
    };
    assert_eq!(check(&idp, &unsigned), Err(Refusal::BadSignature));
    // Signed by another key, whose certificate the message carries in KeyInfo.
    let mallory = idp_signed_by_other(&idp);
    assert_eq!(run(&mallory, &cfg), Err(Refusal::BadSignature));
    let sha1 = Params {
        sig_alg: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest: "http://www.w3.org/2000/09/xmldsig#sha1",
        ..params()
    };
    assert_eq!(check(&idp, &sha1), Err(Refusal::WeakAlgorithm));
}

fn idp_signed_by_other(_real: &Idp) -> String {
    let other = idp();
    String::from_utf8(STANDARD.decode(signed(&other, &params())).unwrap()).unwrap()
}

#[test]
fn conditions_are_ours_to_check() {
    let idp = idp();
    let cases: Vec<(Params, Refusal)> = vec![
        (
            Params {
                audience: Some("https://other.test/sp".into()),
                ..params()
            },
            Refusal::WrongAudience,
        ),
        (
            Params {
                audience: None,
                ..params()
            },
            Refusal::NoAudience,
        ),
        (
            Params {
                issuer: "https://evil.test".into(),
                ..params()
            },
            Refusal::WrongIssuer,
        ),
        (
            Params {
                recipient: "https://other.test/acs".into(),
                ..params()
            },
            Refusal::WrongRecipient,
        ),
        (
            Params {
                destination: Some("https://other.test/acs".into()),
                ..params()
            },
            Refusal::WrongDestination,
        ),
        (
            Params {
                not_on_or_after: NOW - SKEW,
                ..params()
            },
            Refusal::Expired,
        ),
        (
            Params {
                issued: NOW - MAX_AGE - SKEW - 1,
                not_on_or_after: NOW + 300,
                ..params()
            },
            Refusal::Expired,
        ),
        (
            Params {
                not_before: NOW + SKEW + 10,
                ..params()
            },
            Refusal::NotYetValid,
        ),
        (
            Params {
                in_response_to: Some("_other".into()),
                ..params()
            },
            Refusal::UnknownRequest,
        ),
    ];
    for (p, want) in cases {
        assert_eq!(check(&idp, &p).err(), Some(want), "{want:?}");
        let both = Params {
            sign_response: true,
            ..p
        };
        assert_eq!(
            check(&idp, &both).err(),
            Some(want),
            "{want:?}, response signed"
        );
    }
}

#[test]
fn idp_initiated_only_when_allowed_and_never_answering_a_request() {
    let idp = idp();
    let (mut cfg, key) = config(&idp);
    let unsolicited = Params {
        in_response_to: None,
        ..params()
    };
    let msg = signed(&idp, &unsolicited);
    assert_eq!(
        validate_response(&cfg, &sp(), &key, &msg, None, NOW),
        Err(Refusal::Unsolicited)
    );
    cfg.allow_idp_initiated = true;
    assert!(validate_response(&cfg, &sp(), &key, &msg, None, NOW).is_ok());
    // A response to some request is not taken as IdP-initiated by a browser without it.
    let answer = signed(&idp, &params());
    assert_eq!(
        validate_response(&cfg, &sp(), &key, &answer, None, NOW),
        Err(Refusal::UnknownRequest)
    );
    // Nor an unsolicited one by a browser waiting for its request's answer.
    assert_eq!(
        validate_response(&cfg, &sp(), &key, &msg, Some("_req1"), NOW),
        Err(Refusal::UnknownRequest)
    );
}

#[test]
fn doctype_and_wrapping_are_refused() {
    let idp = idp();
    let (cfg, key) = config(&idp);
    let good = String::from_utf8(STANDARD.decode(signed(&idp, &params())).unwrap()).unwrap();
    let run =
        |xml: &str| validate_response(&cfg, &sp(), &key, &STANDARD.encode(xml), Some("_req1"), NOW);
    let doctype = format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{good}");
    assert_eq!(run(&doctype), Err(Refusal::Doctype));
    // Two assertions: an unsigned one in front of the signed one.
    let evil = assertion(
        &Params {
            name_id: "admin".into(),
            ..params()
        },
        "",
    )
    .replace("_a1", "_evil");
    let start = good.find("<saml:Assertion").unwrap();
    let two = format!("{}{evil}{}", &good[..start], &good[start..]);
    assert_eq!(run(&two), Err(Refusal::NotOneAssertion));
    // The signed assertion hidden in an Extensions element, an unsigned one in its place.
    let end = good.find("</samlp:Response>").unwrap();
    let signed_assertion = &good[start..end];
    let moved = format!(
        "{}<samlp:Extensions>{signed_assertion}</samlp:Extensions>{evil}</samlp:Response>",
        &good[..start]
    );
    assert_eq!(run(&moved), Err(Refusal::NotOneAssertion));
    assert_eq!(run("<notsaml/>"), Err(Refusal::Malformed));
    assert_eq!(
        validate_response(&cfg, &sp(), &key, "%%%", None, NOW),
        Err(Refusal::Malformed)
    );
}

#[test]
fn the_authn_request_is_signed_and_answers_to_our_acs() {
    let idp = idp();
    let (cfg, key) = config(&idp);
    let id = new_request_id();
    assert!(id.len() > 40 && id.starts_with('_'));
    let url = authn_request_url(&cfg, &sp(), &key, &id, "rs-1", NOW).unwrap();
    let url = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["RelayState"], "rs-1");
    assert_eq!(q["SigAlg"], RSA_SHA256);
    let xml = crate::saml::bindings::decode_redirect(&q["SAMLRequest"]).unwrap();
    assert!(xml.contains(&format!(r#"ID="{id}""#)));
    assert!(xml.contains(&format!(r#"AssertionConsumerServiceURL="{ACS}""#)));
    assert!(xml.contains(r#"Destination="https://idp.example.test/sso""#));
    assert!(xml.contains(ENTITY));
    // The signature verifies with our certificate (samael's verifier, independent of the
    // signer's encoding).
    let cert = CertificateDer::from(crate::saml::certs::parse(&cfg.sp_cert).unwrap());
    let verifier = samael::crypto::UrlVerifier::from_x509(&cert).unwrap();
    assert!(verifier.verify_signed_request_url(&url).unwrap());
}

#[test]
fn sp_metadata_labels_the_encryption_key() {
    let idp = idp();
    let (cfg, _) = config(&idp);
    let xml = sp_metadata(&cfg, &sp()).unwrap();
    assert!(xml.contains(&format!(r#"entityID="{ENTITY}""#)));
    assert!(xml.contains(r#"AuthnRequestsSigned="true""#));
    assert!(xml.contains(r#"WantAssertionsSigned="true""#));
    assert!(xml.contains(r#"use="encryption""#));
    assert!(xml.contains(ACS));
    assert!(!xml.contains("aes256"));
    assert!(!xml.contains("SingleLogoutService"));
}

#[test]
fn idp_metadata_needs_a_signing_certificate_and_a_redirect_sso() {
    let idp = idp();
    let md = |keys: &str, binding: &str| {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:{binding}" Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    };
    let key = format!(
        r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
        idp.cert_b64
    );
    let ok = parse_idp_metadata(&md(&key, "HTTP-Redirect")).unwrap();
    assert_eq!(ok.entity_id, IDP);
    assert_eq!(ok.sso_url, "https://idp.example.test/sso");
    assert_eq!(ok.certs, vec![idp.cert_b64.clone()]);
    assert!(
        parse_idp_metadata(&md("", "HTTP-Redirect"))
            .unwrap_err()
            .contains("signing certificate")
    );
    let enc_only = key.replace("signing", "encryption");
    assert!(parse_idp_metadata(&md(&enc_only, "HTTP-Redirect")).is_err());
    assert!(
        parse_idp_metadata(&md(&key, "HTTP-POST"))
            .unwrap_err()
            .contains("HTTP-Redirect")
    );
    assert!(parse_idp_metadata("<!DOCTYPE x><x/>").is_err());
    assert!(parse_idp_metadata("not xml").is_err());
}

#[test]
fn a_comment_split_name_id_is_not_read_short() {
    let idp = idp();
    let (cfg, key) = config(&idp);
    let p = Params {
        name_id: "bob@acme.test.evil.test".into(),
        ..params()
    };
    let good = String::from_utf8(STANDARD.decode(signed(&idp, &p)).unwrap()).unwrap();
    let split = good.replace(
        "bob@acme.test.evil.test<",
        "bob@acme.test<!---->.evil.test<",
    );
    assert_ne!(split, good);
    match validate_response(
        &cfg,
        &sp(),
        &key,
        &STANDARD.encode(split),
        Some("_req1"),
        NOW,
    ) {
        Ok(v) => assert_eq!(v.name_id, "bob@acme.test.evil.test"),
        Err(r) => assert_eq!(r, Refusal::BadSignature),
    }
}

#[test]
fn an_error_status_is_refused_as_such() {
    let idp = idp();
    let (cfg, key) = config(&idp);
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{}" Destination="{ACS}" InResponseTo="_req1"><saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode></samlp:Status></samlp:Response>"#,
        t(NOW)
    );
    assert_eq!(
        validate_response(&cfg, &sp(), &key, &STANDARD.encode(xml), Some("_req1"), NOW),
        Err(Refusal::Status)
    );
}

#[test]
fn the_signed_in_response_to_is_checked_without_the_envelope_s() {
    let idp = idp();
    let (mut cfg, key) = config(&idp);
    let p = Params {
        in_response_to: Some("_other".into()),
        ..params()
    };
    let xml = String::from_utf8(STANDARD.decode(signed(&idp, &p)).unwrap()).unwrap();
    // The unsigned Response element without its InResponseTo: only the assertion's is left.
    let start = xml.find("<samlp:Response").unwrap();
    let end = start + xml[start..].find('>').unwrap();
    let head = xml[start..end].replace(r#" InResponseTo="_other""#, "");
    let stripped = format!("{}{head}{}", &xml[..start], &xml[end..]);
    assert!(stripped.matches("_other").count() == 1);
    let run = |cfg: &SamlConfig, expected: Option<&str>| {
        validate_response(cfg, &sp(), &key, &STANDARD.encode(&stripped), expected, NOW)
    };
    assert_eq!(run(&cfg, Some("_req1")), Err(Refusal::UnknownRequest));
    cfg.allow_idp_initiated = true;
    assert_eq!(
        run(&cfg, None),
        Err(Refusal::UnknownRequest),
        "an answer to a request is no unsolicited response"
    );
}
