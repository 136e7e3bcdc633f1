//! mintgate as SAML 2.0 service provider towards an organisation's IdP (issue #12), pure (no
//! HTTP, no store): the AuthnRequest by HTTP-Redirect (SAML Bindings §3.4, signed with
//! RSA-SHA256), our SP metadata (SAML Metadata §2.4.4), and the validation of a Response that
//! came by HTTP-POST (SAML Profiles §4.1.4.3, SAML2Int).
//!
//! Validation runs in this order, each step refusing with its own [`Refusal`]:
//! 1. the bindings guard (size, UTF-8, no DOCTYPE or ENTITY) before any XML parser;
//! 2. the message's shape, read without trusting it: a `samlp:Response` root holding exactly
//!    one `Assertion` or `EncryptedAssertion` anywhere (signature wrapping moves a signed
//!    assertion somewhere else and puts another in its place), no SHA-1 algorithm; its
//!    `Destination` and `InResponseTo`, when present, must be ours (refusing only);
//! 3. samael with ONLY the connection's stored certificates (a `KeyInfo` in the message is
//!    ignored), RSA-SHA256 only, reducing the document to what the signature covers: the
//!    assertion read afterwards is the signed, canonicalised one (NameID included);
//! 4. our own checks on that assertion, which samael skips or does with the system clock:
//!    Issuer, Audience present and ours, NotBefore / NotOnOrAfter / IssueInstant against our
//!    [`Clock`](crate::clock::Clock) with a small skew, a bearer `SubjectConfirmationData` for
//!    our ACS, and `InResponseTo` equal to the request this browser's flow made (or absent,
//!    for an IdP-initiated sign-in the connection allows).
//!
//! The replay check (the assertion id kept until it expires) is the caller's, with the store,
//! once everything here passed.

use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer};
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EncryptionMethod, Endpoint, EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING,
    IdpSsoDescriptor, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor,
};
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use samael::service_provider::{Error as SpError, ServiceProviderBuilder};
use samael::traits::ToXml;

use crate::clock::UnixTime;
use crate::federation::types::SamlConfig;
use crate::saml::bindings::{self, BindingError};

const PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The clock difference tolerated between the IdP and us, in seconds.
pub const SKEW: i64 = 90;
/// How old an assertion's `IssueInstant` may be: the browser posts it at once.
pub const MAX_AGE: i64 = 300;

/// Our service provider's side of a connection: its entity ID (the SP metadata URL, SAML2Int)
/// and its one ACS URL (HTTP-POST). Both are compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEndpoints {
    pub entity_id: String,
    pub acs_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SamlSpError {
    #[error("the SP key of the connection is unreadable: {0}")]
    Key(String),
    #[error("SAML: {0}")]
    Build(String),
}

fn build_err(e: impl std::fmt::Display) -> SamlSpError {
    SamlSpError::Build(e.to_string())
}

fn private_key(pkcs8_der: &[u8]) -> Result<PKey<Private>, SamlSpError> {
    PKey::private_key_from_pkcs8(pkcs8_der).map_err(|e| SamlSpError::Key(e.to_string()))
}

fn datetime(t: UnixTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// A new AuthnRequest id: 256 random bits (samael's own has 32), an NCName (`_` first).
pub fn new_request_id() -> String {
    format!("_{}", crate::crypto::random_token())
}

/// The AuthnRequest to the IdP by HTTP-Redirect, signed (`SigAlg` RSA-SHA256, Bindings
/// §3.4.4.1) with the connection's key. Returns the URL to redirect to; `request_id` is kept in
/// the browser's flow for the Response's `InResponseTo`.
pub fn authn_request_url(
    config: &SamlConfig,
    sp: &SpEndpoints,
    sp_key_pkcs8: &[u8],
    request_id: &str,
    relay_state: &str,
    now: UnixTime,
) -> Result<String, SamlSpError> {
    let request = AuthnRequest {
        id: request_id.to_owned(),
        version: "2.0".into(),
        issue_instant: datetime(now),
        destination: Some(config.sso_url.clone()),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.into()),
        issuer: Some(Issuer {
            format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:entity".into()),
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        ..AuthnRequest::default()
    };
    let key = private_key(sp_key_pkcs8)?;
    let url = request
        .signed_redirect(relay_state, &key)
        .map_err(build_err)?
        .ok_or_else(|| SamlSpError::Build("no destination".into()))?;
    Ok(url.to_string())
}

/// Our SP metadata for the connection: entity ID, the ACS (HTTP-POST), our certificate as a
/// signing key (we sign AuthnRequests: `AuthnRequestsSigned="true"`) and as an encryption key
/// (`use="encryption"`, which samael mislabels as signing) with the algorithms we can decrypt:
/// AES-128 only (CBC or GCM), RSA-OAEP (MGF1-SHA1) key transport. No single logout endpoint:
/// we do not support SAML single logout. No `validUntil`: the certificate is fixed for the
/// connection's life and the document is unsigned.
pub fn sp_metadata(config: &SamlConfig, sp: &SpEndpoints) -> Result<String, SamlSpError> {
    let key_info = || KeyInfo {
        id: None,
        x509_data: Some(X509Data {
            certificates: vec![config.sp_cert.clone()],
        }),
    };
    let method = |a: &str| EncryptionMethod {
        algorithm: a.to_owned(),
    };
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".into()),
        key_descriptors: Some(vec![
            KeyDescriptor {
                key_use: Some("signing".into()),
                key_info: key_info(),
                encryption_methods: None,
            },
            KeyDescriptor {
                key_use: Some("encryption".into()),
                key_info: key_info(),
                encryption_methods: Some(vec![
                    method("http://www.w3.org/2009/xmlenc11#aes128-gcm"),
                    method("http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
                    method("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
                ]),
            },
        ]),
        name_id_formats: Some(vec![NAMEID_PERSISTENT.into(), NAMEID_EMAIL.into()]),
        authn_requests_signed: Some(true),
        want_assertions_signed: Some(true),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: HTTP_POST_BINDING.into(),
            location: sp.acs_url.clone(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    }
    .to_string()
    .map_err(build_err)
}

/// What an IdP's metadata gives a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// The `SingleSignOnService` for HTTP-Redirect.
    pub sso_url: String,
    /// Signing certificates, base64 DER.
    pub certs: Vec<String>,
}

/// Reads an IdP's metadata (an `EntityDescriptor`, or an `EntitiesDescriptor` holding exactly
/// one IdP). Refused: a DOCTYPE, no entityID, no HTTP-Redirect SSO URL, and no signing
/// certificate (without one, samael would skip signature checks altogether).
pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, String> {
    let xml = bindings::guard(xml.as_bytes().to_vec()).map_err(|e| match e {
        BindingError::Doctype => "the metadata contains a DOCTYPE, which is refused".to_owned(),
        other => format!("the metadata is unusable: {other}"),
    })?;
    let xml = xml.trim_start_matches('\u{feff}');
    let entity: EntityDescriptor = match xml.parse::<EntityDescriptor>() {
        Ok(e) if e.idp_sso_descriptors.is_some() => e,
        first => {
            let many =
                xml.parse::<samael::metadata::EntitiesDescriptor>()
                    .map_err(|_| match first {
                        Ok(_) => "the metadata describes no identity provider (IDPSSODescriptor)"
                            .to_owned(),
                        Err(e) => format!("the metadata is not valid SAML metadata XML: {e}"),
                    })?;
            let mut idps: Vec<EntityDescriptor> = many
                .descriptors
                .into_iter()
                .filter_map(|d| match d {
                    samael::metadata::EntityDescriptorType::EntityDescriptor(e)
                        if e.idp_sso_descriptors.is_some() =>
                    {
                        Some(e)
                    }
                    _ => None,
                })
                .collect();
            if idps.len() != 1 {
                return Err("the metadata must describe exactly one identity provider".to_owned());
            }
            idps.remove(0)
        }
    };
    let entity_id = entity
        .entity_id
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= 1024 && !e.chars().any(char::is_control))
        .ok_or("the metadata has no valid entityID")?
        .to_owned();
    let descriptors = entity.idp_sso_descriptors.unwrap_or_default();
    let sso_url = descriptors
        .iter()
        .flat_map(|d| d.single_sign_on_services.iter())
        .find(|s| s.binding == HTTP_REDIRECT_BINDING)
        .map(|s| s.location.trim().to_owned())
        .ok_or("the metadata has no SingleSignOnService for the HTTP-Redirect binding")?;
    let url = url::Url::parse(&sso_url)
        .map_err(|_| "the HTTP-Redirect SingleSignOnService is not an absolute URL")?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
        return Err(
            "the SingleSignOnService must use https:// (http:// only on a loopback address)".into(),
        );
    }
    let mut certs: Vec<String> = Vec::new();
    for d in &descriptors {
        for k in &d.key_descriptors {
            if k.key_use.as_deref().is_some_and(|u| u != "signing") {
                continue;
            }
            for c in k
                .key_info
                .x509_data
                .iter()
                .flat_map(|x| x.certificates.iter())
            {
                let der = crate::saml::certs::parse(c)
                    .ok_or("the metadata holds a certificate that is not valid X.509")?;
                let b64 = crate::saml::certs::to_base64(&der);
                if !certs.contains(&b64) {
                    certs.push(b64);
                }
            }
        }
    }
    if certs.is_empty() {
        return Err("the metadata has no signing certificate: responses could not be verified, so it is refused".into());
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certs,
    })
}

/// Why a Response was refused; [`Refusal::code`] is the audit's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The SAML response contains a DOCTYPE.")]
    Doctype,
    #[error("The SAML response is malformed.")]
    Malformed,
    #[error("The SAML response must contain exactly one assertion.")]
    NotOneAssertion,
    #[error("The SAML response uses a refused algorithm (SHA-1).")]
    WeakAlgorithm,
    #[error("The SAML response is not signed by this connection's identity provider.")]
    BadSignature,
    #[error("The SAML response comes from another identity provider.")]
    WrongIssuer,
    #[error("The SAML assertion is not meant for this service.")]
    WrongAudience,
    #[error("The SAML assertion names no audience.")]
    NoAudience,
    #[error("The SAML response was sent to another destination.")]
    WrongDestination,
    #[error("The SAML assertion was issued for another recipient.")]
    WrongRecipient,
    #[error("The SAML assertion has expired.")]
    Expired,
    #[error("The SAML assertion is not valid yet.")]
    NotYetValid,
    #[error("The SAML response does not answer this browser's sign-in. Start again.")]
    UnknownRequest,
    #[error("This connection does not accept sign-ins started at the identity provider.")]
    Unsolicited,
    #[error("The identity provider did not sign you in.")]
    Status,
    #[error("The SAML assertion names no subject.")]
    NoSubject,
    #[error("The encrypted SAML assertion cannot be decrypted.")]
    Decrypt,
    #[error("This SAML assertion was already used.")]
    Replayed,
    #[error(
        "The SAML response's signature points outside the message or uses a transform SAML does not need."
    )]
    UnsafeSignature,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Doctype => "doctype",
            Refusal::Malformed => "malformed",
            Refusal::NotOneAssertion => "not_one_assertion",
            Refusal::WeakAlgorithm => "weak_algorithm",
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::NoAudience => "no_audience",
            Refusal::WrongDestination => "wrong_destination",
            Refusal::WrongRecipient => "wrong_recipient",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::UnknownRequest => "unknown_request",
            Refusal::Unsolicited => "idp_initiated_refused",
            Refusal::Status => "idp_status",
            Refusal::NoSubject => "no_subject",
            Refusal::Decrypt => "decrypt_failed",
            Refusal::Replayed => "replayed",
            Refusal::UnsafeSignature => "unsafe_signature",
        }
    }
}

/// What a verified assertion says, read from the signed (reduced) assertion only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub assertion_id: String,
    /// Until when the assertion could be accepted: its id is kept as used until then.
    pub usable_until: UnixTime,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// Attribute name to its values, in order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The request answered; `None` for an IdP-initiated sign-in.
    pub in_response_to: Option<String>,
}

/// The unverified envelope, read only to refuse: never to accept.
struct Shape {
    destination: Option<String>,
    in_response_to: Option<String>,
}

const STATUS_SUCCESS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:status:Success";

const WEAK: [&str; 3] = [
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
];

fn shape(xml: &str) -> Result<Shape, Refusal> {
    let mut reader = NsReader::from_str(xml);
    let mut root: Option<Shape> = None;
    let mut assertions = 0usize;
    // The local names of the open elements, for each element's parent.
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut failed_status = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| Refusal::Malformed)?;
        let (start, opens) = match event {
            Event::Start(s) => (s, true),
            Event::Empty(s) => (s, false),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::DocType(_) => return Err(Refusal::Doctype),
            Event::Eof => break,
            _ => continue,
        };
        let level = open.len() + 1;
        let parent = open.last().cloned().unwrap_or_default();
        let local = start.local_name();
        if opens {
            open.push(local.as_ref().to_vec());
        }
        let in_ns = |want: &[u8]| matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == want);
        if root.is_none() {
            if !(in_ns(PROTOCOL_NS) && local.as_ref() == b"Response") {
                return Err(Refusal::Malformed);
            }
            let mut s = Shape {
                destination: None,
                in_response_to: None,
            };
            for attr in start.attributes() {
                let attr = attr.map_err(|_| Refusal::Malformed)?;
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|_| Refusal::Malformed)?
                    .into_owned();
                match attr.key.as_ref() {
                    b"Destination" => s.destination = Some(value),
                    b"InResponseTo" => s.in_response_to = Some(value),
                    _ => {}
                }
            }
            root = Some(s);
            continue;
        }
        if in_ns(ASSERTION_NS) && matches!(local.as_ref(), b"Assertion" | b"EncryptedAssertion") {
            assertions += 1;
        }
        // The Response's own top-level status (its Status's first-level StatusCode): an IdP's
        // error answer carries no assertion, and says so.
        if level == 3
            && parent == b"Status"
            && in_ns(PROTOCOL_NS)
            && local.as_ref() == b"StatusCode"
        {
            let success = start
                .attributes()
                .flatten()
                .any(|a| a.key.as_ref() == b"Value" && a.value.as_ref() == STATUS_SUCCESS);
            failed_status |= !success;
        }
        // SHA-1 in a signature (its SignatureMethod, or a Reference's DigestMethod); the
        // DigestMethod of an RSA-OAEP key transport is another matter (MGF1-SHA1 is what
        // samael decrypts).
        let signing = in_ns(DSIG_NS)
            && (local.as_ref() == b"SignatureMethod"
                || local.as_ref() == b"DigestMethod" && parent == b"Reference");
        if signing
            && start.attributes().flatten().any(|a| {
                a.key.local_name().as_ref() == b"Algorithm"
                    && WEAK.iter().any(|w| a.value.as_ref() == w.as_bytes())
            })
        {
            return Err(Refusal::WeakAlgorithm);
        }
    }
    let root = root.ok_or(Refusal::Malformed)?;
    if failed_status {
        return Err(Refusal::Status);
    }
    if assertions != 1 {
        return Err(Refusal::NotOneAssertion);
    }
    Ok(root)
}

fn classify(e: &SpError) -> Refusal {
    match e {
        SpError::FailedToValidateSignature => Refusal::BadSignature,
        SpError::ResponseIssuerMismatch { .. } | SpError::AssertionIssuerMismatch { .. } => {
            Refusal::WrongIssuer
        }
        SpError::AssertionConditionAudienceRestrictionFailed { .. } => Refusal::WrongAudience,
        SpError::DestinationValidationError { .. } => Refusal::WrongDestination,
        SpError::AssertionRecipientMismatch { .. } => Refusal::WrongRecipient,
        SpError::ResponseBadStatusCode { .. } => Refusal::Status,
        SpError::AssertionBearerSubjectConfirmationMissing
        | SpError::AssertionSubjectConfirmationMissing => Refusal::NoSubject,
        SpError::AssertionExpired { .. }
        | SpError::ResponseExpired { .. }
        | SpError::AssertionConditionExpired { .. }
        | SpError::AssertionSubjectConfirmationExpired { .. } => Refusal::Expired,
        SpError::AssertionConditionExpiredBefore { .. }
        | SpError::AssertionSubjectConfirmationExpiredBefore { .. } => Refusal::NotYetValid,
        SpError::AssertionInResponseToInvalid { .. }
        | SpError::ResponseInResponseToInvalid { .. } => Refusal::UnknownRequest,
        SpError::MissingPrivateKeySP => Refusal::Decrypt,
        SpError::CryptoXmlError(_) | SpError::CryptoProviderError(_) => Refusal::Decrypt,
        _ => Refusal::Malformed,
    }
}

fn idp_descriptor(config: &SamlConfig) -> EntityDescriptor {
    EntityDescriptor {
        entity_id: Some(config.idp_entity_id.clone()),
        idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
            id: None,
            valid_until: None,
            cache_duration: None,
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".into()),
            error_url: None,
            signature: None,
            key_descriptors: vec![KeyDescriptor {
                key_use: Some("signing".into()),
                key_info: KeyInfo {
                    id: None,
                    x509_data: Some(X509Data {
                        certificates: config.idp_certs.clone(),
                    }),
                },
                encryption_methods: None,
            }],
            organization: None,
            contact_people: Vec::new(),
            artifact_resolution_service: Vec::new(),
            single_logout_services: Vec::new(),
            manage_name_id_services: Vec::new(),
            name_id_formats: Vec::new(),
            want_authn_requests_signed: None,
            single_sign_on_services: vec![Endpoint {
                binding: HTTP_REDIRECT_BINDING.into(),
                location: config.sso_url.clone(),
                response_location: None,
            }],
            name_id_mapping_services: Vec::new(),
            assertion_id_request_services: Vec::new(),
            attribute_profiles: Vec::new(),
            attributes: Vec::new(),
        }]),
        ..EntityDescriptor::default()
    }
}

/// Validates a POSTed `SAMLResponse` (base64) for the connection `config`, at `now`, as the
/// answer to `expected` (the request id this browser's flow made) or, with `None`, as an
/// IdP-initiated Response (accepted only if the connection allows it and it answers no
/// request). Blocking (RSA, canonicalisation): run it off the async workers.
pub fn validate_response(
    config: &SamlConfig,
    sp: &SpEndpoints,
    sp_key_pkcs8: &[u8],
    encoded: &str,
    expected: Option<&str>,
    now: UnixTime,
) -> Result<Verified, Refusal> {
    let xml = bindings::decode_post(encoded).map_err(|e| match e {
        BindingError::Doctype => Refusal::Doctype,
        _ => Refusal::Malformed,
    })?;
    let envelope = shape(&xml)?;
    // Before xmlsec processes any reference or transform (it does so before it knows whether
    // the signature verifies).
    crate::saml::dsig::check(&xml).map_err(|_| Refusal::UnsafeSignature)?;
    if envelope
        .destination
        .as_deref()
        .is_some_and(|d| d != sp.acs_url)
    {
        return Err(Refusal::WrongDestination);
    }
    if envelope.in_response_to.is_some() && envelope.in_response_to.as_deref() != expected {
        return Err(Refusal::UnknownRequest);
    }
    if config.idp_certs.is_empty() {
        // Without certificates samael checks no signature at all.
        return Err(Refusal::BadSignature);
    }
    let certs_ok = config
        .idp_certs
        .iter()
        .all(|c| crate::saml::certs::parse(c).is_some());
    if !certs_ok {
        return Err(Refusal::BadSignature);
    }
    crate::saml::init();
    let key = private_key(sp_key_pkcs8).map_err(|_| Refusal::Decrypt)?;
    let sp_cert = crate::saml::certs::parse(&config.sp_cert).unwrap_or_default();
    // Times are checked below with our clock: samael's own checks (system clock) are
    // widened out of the way. InResponseTo is checked below too (samael's allows any of a
    // list, and skips it for IdP-initiated).
    let far = Duration::days(3650);
    let service = ServiceProviderBuilder::default()
        .entity_id(sp.entity_id.clone())
        .acs_url(sp.acs_url.clone())
        .key(key)
        .certificate(CertificateDer::from(sp_cert))
        .idp_metadata(idp_descriptor(config))
        .allowed_signature_algorithms(Some(vec![AllowedSignatureAlgorithm::RsaSha256]))
        .max_issue_delay(far)
        .max_clock_skew(far)
        .allow_idp_initiated(true)
        .build()
        .map_err(|_| Refusal::Malformed)?;
    match service.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => {}
        _ => return Err(Refusal::BadSignature),
    }
    let assertion = service.parse_xml_response(&xml, None).map_err(|e| {
        tracing::info!(error = %e, "SAML response refused");
        classify(&e)
    })?;
    check_assertion(config, sp, &assertion, expected, now)
}

fn check_assertion(
    config: &SamlConfig,
    sp: &SpEndpoints,
    a: &samael::schema::Assertion,
    expected: Option<&str>,
    now: UnixTime,
) -> Result<Verified, Refusal> {
    if a.issuer.value.as_deref() != Some(config.idp_entity_id.as_str()) {
        return Err(Refusal::WrongIssuer);
    }
    let issued = a.issue_instant.timestamp();
    if issued > now + SKEW {
        return Err(Refusal::NotYetValid);
    }
    let mut usable_until = issued + MAX_AGE + SKEW;
    if now >= usable_until {
        return Err(Refusal::Expired);
    }
    let conditions = a.conditions.as_ref().ok_or(Refusal::NoAudience)?;
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or(Refusal::NoAudience)?;
    // SAML Core §2.5.1.4: every AudienceRestriction must name us.
    if !restrictions
        .iter()
        .all(|r| r.audience.iter().any(|x| x == &sp.entity_id))
    {
        return Err(Refusal::WrongAudience);
    }
    if conditions
        .not_before
        .is_some_and(|nb| now + SKEW < nb.timestamp())
    {
        return Err(Refusal::NotYetValid);
    }
    if let Some(noa) = conditions.not_on_or_after {
        let until = noa.timestamp() + SKEW;
        if now >= until {
            return Err(Refusal::Expired);
        }
        usable_until = usable_until.min(until);
    }
    let subject = a.subject.as_ref().ok_or(Refusal::NoSubject)?;
    let ours: Vec<_> = subject
        .subject_confirmations
        .iter()
        .flatten()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .filter(|d| d.recipient.as_deref() == Some(sp.acs_url.as_str()))
        .collect();
    let Some(data) = ours.first() else {
        return Err(Refusal::WrongRecipient);
    };
    if ours.len() != 1 {
        return Err(Refusal::Malformed);
    }
    if data
        .not_before
        .is_some_and(|nb| now + SKEW < nb.timestamp())
    {
        return Err(Refusal::NotYetValid);
    }
    let noa = data.not_on_or_after.ok_or(Refusal::Malformed)?;
    let until = noa.timestamp() + SKEW;
    if now >= until {
        return Err(Refusal::Expired);
    }
    usable_until = usable_until.min(until);
    match (expected, data.in_response_to.as_deref()) {
        (Some(want), Some(got)) if want == got => {}
        (None, None) if config.allow_idp_initiated => {}
        (None, None) => return Err(Refusal::Unsolicited),
        _ => return Err(Refusal::UnknownRequest),
    }
    let name_id = subject.name_id.as_ref().ok_or(Refusal::NoSubject)?;
    let value = name_id.value.trim();
    if value.is_empty() || value.chars().count() > 256 || value.chars().any(char::is_control) {
        return Err(Refusal::NoSubject);
    }
    if a.id.is_empty() || a.id.len() > 256 {
        return Err(Refusal::Malformed);
    }
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for statement in a.attribute_statements.iter().flatten() {
        for attr in &statement.attributes {
            let Some(name) = attr.name.clone() else {
                continue;
            };
            let values: Vec<String> = attr
                .values
                .iter()
                .filter_map(|v| v.value.as_deref())
                .map(|v| v.trim().to_owned())
                .collect();
            match attributes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => existing.extend(values),
                None => attributes.push((name, values)),
            }
        }
    }
    Ok(Verified {
        assertion_id: a.id.clone(),
        usable_until,
        name_id: value.to_owned(),
        name_id_format: name_id.format.clone(),
        attributes,
        in_response_to: data.in_response_to.clone(),
    })
}

#[cfg(test)]
#[path = "saml_sp_tests.rs"]
mod tests;
