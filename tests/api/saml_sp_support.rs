//! A test SAML IdP whose Responses are signed (and encrypted) by the `xmlsec1` command, an
//! independent implementation of XML Signature / Encryption: a Response template written
//! here, signed by xmlsec1 with a key made per test run. Under `CI=true` a missing xmlsec1
//! fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;

use crate::helpers::{TestApp, location};
use crate::sso_idp_support::{org_named, verify_domain};
use mintgate::federation::connections::{self, MappingOverrides, NewSaml, SamlPreset};
use mintgate::federation::types::Connection;
use mintgate::ids::OrgId;

pub const IDP_ENTITY: &str = "https://idp.acme.test/saml";
pub const IDP_SSO: &str = "https://idp.acme.test/sso";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Whether xmlsec1 can run; `false` skips the test, except under `CI=true` (a panic).
pub fn have_xmlsec1() -> bool {
    let ok = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("xmlsec1 is required under CI=true (scripts/setup-machine installs it)");
    }
    if !ok {
        eprintln!("skipped: no xmlsec1");
    }
    ok
}

/// A test IdP: its key and certificate, in a temporary directory xmlsec1 reads.
pub struct TestIdp {
    pub dir: tempfile::TempDir,
    pub cert_b64: String,
}

impl TestIdp {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rsa = Rsa::generate(2048).unwrap();
        let key = PKey::from_rsa(rsa).unwrap();
        let pkcs8 = key.private_key_to_pkcs8().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let cert = mintgate::saml::certs::self_signed(&pkcs8, "test idp", now - 86_400).unwrap();
        std::fs::write(
            dir.path().join("key.pem"),
            key.private_key_to_pem_pkcs8().unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cert.pem"),
            mintgate::saml::certs::to_pem(&cert),
        )
        .unwrap();
        Self {
            dir,
            cert_b64: mintgate::saml::certs::to_base64(&cert),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn metadata(&self) -> String {
        self.metadata_with_sso(IDP_SSO)
    }

    /// The metadata with the HTTP-Redirect SSO endpoint at `sso`.
    pub fn metadata_with_sso(&self, sso: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            self.cert_b64
        )
    }

    /// Signs the first signature template of `xml` with xmlsec1.
    pub fn xmlsec_sign(&self, xml: &str) -> String {
        sign_with(
            &self.path("key.pem"),
            &self.path("cert.pem"),
            self.dir.path(),
            xml,
        )
    }

    /// The Response of `p`, signed as `p` says, base64 for the POST binding.
    pub fn response(&self, p: &Params) -> String {
        STANDARD.encode(self.response_xml(p))
    }

    pub fn response_xml(&self, p: &Params) -> String {
        let template = if p.sign_assertion {
            sig_template("_a1", p)
        } else {
            String::new()
        };
        let mut inner = assertion(p, &template);
        if p.sign_assertion {
            inner = strip_decl(&self.xmlsec_sign(&inner));
        }
        if let Some(cert) = &p.encrypt_to {
            inner = self.encrypt(&inner, cert);
        }
        if p.sign_response {
            strip_decl(&self.xmlsec_sign(&response(p, &inner, &sig_template("_r1", p))))
        } else {
            response(p, &inner, "")
        }
    }

    /// The assertion encrypted by xmlsec1 for the SP certificate (base64 DER): AES-128-CBC,
    /// the session key by RSA-OAEP (MGF1-SHA1), wrapped in an EncryptedAssertion.
    fn encrypt(&self, assertion_xml: &str, sp_cert_b64: &str) -> String {
        let der = STANDARD.decode(sp_cert_b64).unwrap();
        std::fs::write(self.path("sp.pem"), mintgate::saml::certs::to_pem(&der)).unwrap();
        std::fs::write(self.path("plain.xml"), assertion_xml).unwrap();
        let template = r##"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"##;
        std::fs::write(self.path("enc-tmpl.xml"), template).unwrap();
        let out = Command::new("xmlsec1")
            .arg("--encrypt")
            .arg("--pubkey-cert-pem")
            .arg(self.path("sp.pem"))
            .arg("--session-key")
            .arg("aes-128")
            .arg("--xml-data")
            .arg(self.path("plain.xml"))
            .arg("--node-xpath")
            .arg("/*")
            .arg("--output")
            .arg(self.path("enc.xml"))
            .arg(self.path("enc-tmpl.xml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1 --encrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let enc = std::fs::read_to_string(self.path("enc.xml")).unwrap();
        // xmlsec1 replaced the root (the assertion) with the EncryptedData.
        let start = enc.find("<xenc:EncryptedData").unwrap();
        format!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{}</saml:EncryptedAssertion>"#,
            enc[start..].trim_end()
        )
    }
}

/// xmlsec1 signing `xml` with a key and certificate (PEM files), in `dir`.
pub fn sign_with(key: &Path, cert: &Path, dir: &Path, xml: &str) -> String {
    let tmpl = dir.join(format!("tmpl-{}.xml", rand_suffix()));
    let out_path = dir.join(format!("out-{}.xml", rand_suffix()));
    std::fs::write(&tmpl, xml).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", key.display(), cert.display()))
        .arg("--id-attr:ID")
        .arg("urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
        .arg("--id-attr:ID")
        .arg("urn:oasis:names:tc:SAML:2.0:protocol:Response")
        .arg("--output")
        .arg(&out_path)
        .arg(&tmpl)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(out_path).unwrap()
}

fn rand_suffix() -> String {
    mintgate::crypto::random_token()[..12].to_owned()
}

pub fn strip_decl(xml: &str) -> String {
    match xml.find("?>") {
        Some(i) if xml.trim_start().starts_with("<?xml") => xml[i + 2..].trim().to_owned(),
        _ => xml.trim().to_owned(),
    }
}

/// What the test IdP puts in a Response.
#[derive(Clone)]
pub struct Params {
    pub issuer: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub audience: Option<String>,
    pub recipient: String,
    pub issued: i64,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub name_id: String,
    pub name_id_format: String,
    pub attributes: Vec<(String, Vec<String>)>,
    pub sign_assertion: bool,
    pub sign_response: bool,
    pub sig_alg: &'static str,
    pub digest: &'static str,
    /// The SP certificate (base64 DER) to encrypt the assertion to.
    pub encrypt_to: Option<String>,
    pub assertion_id: String,
}

impl Params {
    /// A good Response for the SP `sp` answering `request_id` at `now`.
    pub fn new(sp: &SpSide, request_id: Option<&str>, now: i64, email: &str) -> Self {
        Params {
            issuer: IDP_ENTITY.into(),
            destination: Some(sp.acs_url.clone()),
            in_response_to: request_id.map(str::to_owned),
            audience: Some(sp.entity_id.clone()),
            recipient: sp.acs_url.clone(),
            issued: now,
            not_before: now - 30,
            not_on_or_after: now + 300,
            name_id: format!("idp-{email}"),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
            attributes: vec![
                ("email".into(), vec![email.into()]),
                ("name".into(), vec!["Alice Example".into()]),
                ("groups".into(), vec!["Engineering".into(), "Ops".into()]),
            ],
            sign_assertion: true,
            sign_response: false,
            sig_alg: RSA_SHA256,
            digest: SHA256,
            encrypt_to: None,
            assertion_id: format!("_a{}", rand_suffix().replace('-', "x")),
        }
    }
}

fn t(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn sig_template(id: &str, p: &Params) -> String {
    let id = if id == "_a1" {
        p.assertion_id.as_str()
    } else {
        id
    };
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##,
        p.sig_alg, p.digest
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn assertion(p: &Params, sig: &str) -> String {
    let irt = p
        .in_response_to
        .as_ref()
        .map(|i| format!(r#" InResponseTo="{}""#, esc(i)))
        .unwrap_or_default();
    let audience = p
        .audience
        .as_ref()
        .map(|a| {
            format!(
                "<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>",
                esc(a)
            )
        })
        .unwrap_or_default();
    let attributes: String = p
        .attributes
        .iter()
        .map(|(name, values)| {
            let values: String = values
                .iter()
                .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", esc(v)))
                .collect();
            format!(
                r#"<saml:Attribute Name="{}">{values}</saml:Attribute>"#,
                esc(name)
            )
        })
        .collect();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="{fmt}">{name}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{noa}" Recipient="{recipient}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
        id = p.assertion_id,
        issued = t(p.issued),
        issuer = esc(&p.issuer),
        fmt = esc(&p.name_id_format),
        name = esc(&p.name_id),
        noa = t(p.not_on_or_after),
        nb = t(p.not_before),
        recipient = esc(&p.recipient),
    )
}

pub fn response(p: &Params, inner: &str, sig: &str) -> String {
    let irt = p
        .in_response_to
        .as_ref()
        .map(|i| format!(r#" InResponseTo="{}""#, esc(i)))
        .unwrap_or_default();
    let dest = p
        .destination
        .as_ref()
        .map(|d| format!(r#" Destination="{}""#, esc(d)))
        .unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{}"{dest}{irt}><saml:Issuer>{}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#,
        t(p.issued),
        esc(&p.issuer)
    )
}

/// Our SP's side of the connection, as the test sees it.
pub struct SpSide {
    pub connection: Connection,
    pub entity_id: String,
    pub acs_url: String,
    pub sp_cert: String,
    pub org: OrgId,
}

/// A SAML connection of the `default` organisation (domain `acme.test` verified) to `idp`.
pub async fn saml_connection(app: &TestApp, idp: &TestIdp, allow_idp_initiated: bool) -> SpSide {
    saml_connection_from(app, idp.metadata(), allow_idp_initiated).await
}

/// [`saml_connection`] from the IdP metadata `metadata`.
pub async fn saml_connection_from(
    app: &TestApp,
    metadata: String,
    allow_idp_initiated: bool,
) -> SpSide {
    let org = org_named(app, "default").await;
    verify_domain(app, &org, "acme.test").await;
    let (state, org2) = (app.state.clone(), org.clone());
    let connection = tokio::task::spawn_blocking(move || {
        connections::add_saml(
            &state.store,
            &state.secrets,
            state.clock.as_ref(),
            &org2,
            NewSaml {
                name: Some("Acme IdP".into()),
                metadata,
                preset: SamlPreset::Default,
                overrides: MappingOverrides::default(),
                allow_idp_initiated,
            },
            None,
            &Default::default(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let sp = mintgate::federation::saml_http::endpoints(&app.settings.server, &connection.id);
    let mintgate::federation::types::Protocol::Saml(cfg) = &connection.protocol else {
        unreachable!()
    };
    SpSide {
        sp_cert: cfg.sp_cert.clone(),
        connection,
        entity_id: sp.entity_id,
        acs_url: sp.acs_url,
        org,
    }
}

/// From the sign-in page by e-mail: the redirect to the IdP; returns the request id and the
/// RelayState of the AuthnRequest.
pub async fn start_from_login(app: &TestApp, b: &reqwest::Client, email: &str) -> (String, String) {
    let csrf = app.login_csrf_with(b).await;
    let res = b
        .post(app.url("/login/sso"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("sso", email),
            ("return_to", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "routed");
    read_authn_request(&location(res.headers()))
}

/// The id and RelayState of a redirect-binding AuthnRequest URL.
pub fn read_authn_request(url: &str) -> (String, String) {
    assert!(url.starts_with(IDP_SSO), "to the IdP: {url}");
    let url = url::Url::parse(url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["SigAlg"], RSA_SHA256);
    assert!(q.contains_key("Signature"));
    // Inflated with flate2 here, not with our bindings module.
    let raw = STANDARD.decode(&q["SAMLRequest"]).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut flate2::read::DeflateDecoder::new(&raw[..]), &mut xml)
        .unwrap();
    let id_start = xml.find(" ID=\"").unwrap() + 5;
    let id_end = id_start + xml[id_start..].find('"').unwrap();
    (xml[id_start..id_end].to_owned(), q["RelayState"].clone())
}

/// POSTs the Response to the ACS as the IdP's auto-submitted form would (from `b`, though no
/// cookie of ours goes with a cross-site POST), then follows the 303 to the continue page in
/// `b`. Returns the continue page's status and Location (or body).
pub async fn post_to_acs(
    app: &TestApp,
    b: &reqwest::Client,
    sp: &SpSide,
    saml_response: &str,
    relay_state: Option<&str>,
) -> (u16, String) {
    let continue_url = post_only(app, sp, saml_response, relay_state).await;
    let res = b.get(app.url(&continue_url)).send().await.unwrap();
    let status = res.status().as_u16();
    let out = if status == 303 {
        location(res.headers())
    } else {
        res.text().await.unwrap()
    };
    (status, out)
}

/// The ACS POST alone (a fresh client: no cookies); returns the continue path.
pub async fn post_only(
    app: &TestApp,
    sp: &SpSide,
    saml_response: &str,
    relay_state: Option<&str>,
) -> String {
    let mut form = vec![("SAMLResponse", saml_response)];
    if let Some(r) = relay_state {
        form.push(("RelayState", r));
    }
    let res = crate::helpers::new_client()
        .post(&sp.acs_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the ACS keeps the message");
    let to = location(res.headers());
    assert!(to.contains("/acs/continue?m="), "{to}");
    let _ = app;
    to
}

/// The reasons of `sso.refused` events.
pub async fn refusal_reasons(app: &TestApp) -> Vec<String> {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::audit::AuditStore::recent_events(&state.store, 200)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "sso.refused")
            .filter_map(|e| e.detail)
            .map(|d| d.rsplit(' ').next().unwrap_or_default().to_owned())
            .collect()
    })
    .await
    .unwrap()
}
