//! SAML IdP test support: an independent service provider (pysaml2, `tests/saml/sp/sp.py`) run
//! from a virtualenv created on demand under `target/` from the pinned requirements, and
//! helpers to register apps and walk a browser through the single sign-on service.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use mintgate::saml_idp::apps::{self, NewApp};
use mintgate::saml_idp::types::SamlApp;
use serde_json::Value;

use crate::helpers::{TestApp, form_value, location, python_venv};

fn sp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/saml/sp")
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The venv's python with pysaml2, created once per test process (`python3 -m venv`, `pip
/// install -r requirements.txt`); `None` when python3 or xmlsec1 is missing (the test is
/// skipped), except under `CI=true`, where that fails the test.
pub fn python() -> Option<PathBuf> {
    static READY: OnceLock<Option<PathBuf>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let has = |cmd: &str, arg: &str| {
                Command::new(cmd)
                    .arg(arg)
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if !has("python3", "--version") || !has("xmlsec1", "--version") {
                assert!(
                    !ci(),
                    "python3 and xmlsec1 are required for the SAML IdP tests under CI"
                );
                eprintln!("skipping: python3 or xmlsec1 is not installed");
                return None;
            }
            python_venv("saml-idp-sp-venv", "tests/saml/sp/requirements.txt")
        })
        .clone()
}

/// One service provider as pysaml2 sees it: its entity ID and ACS, and our metadata as fetched.
pub struct Sp {
    pub entity_id: String,
    pub acs: String,
    python: PathBuf,
    dir: tempfile::TempDir,
    pub key: Option<(PathBuf, PathBuf)>,
    /// The app's clock: tests move it, pysaml2 runs on the real one.
    clock: mintgate::clock::ManualClock,
    sso: String,
}

impl Sp {
    /// `None` when pysaml2 is not available (outside CI).
    pub async fn new(app: &TestApp, entity_id: &str, acs: &str) -> Option<Sp> {
        let python = python()?;
        let sp = Sp {
            entity_id: entity_id.to_owned(),
            acs: acs.to_owned(),
            python,
            dir: tempfile::tempdir().unwrap(),
            key: None,
            clock: app.clock.clone(),
            sso: app.url("/saml/sso"),
        };
        sp.refresh_metadata(app).await;
        Some(sp)
    }

    /// Fetches `/saml/metadata` again (after a key rotation).
    pub async fn refresh_metadata(&self, app: &TestApp) -> String {
        let md = app.get("/saml/metadata").await.text().await.unwrap();
        std::fs::write(self.dir.path().join("idp.xml"), &md).unwrap();
        md
    }

    /// Makes pysaml2 believe our SSO service is at `location` (its requests then name that
    /// Destination).
    pub fn with_sso_location(&self, location: &str) {
        let path = self.dir.path().join("idp.xml");
        let md = std::fs::read_to_string(&path).unwrap();
        let md = md.replace(
            &format!("Location=\"{}\"", self.sso),
            &format!("Location=\"{location}\""),
        );
        std::fs::write(&path, md).unwrap();
    }

    /// Gives the SP a signing key (PKCS#8 DER from mintgate's generator, written as PEM) and
    /// returns its SP metadata (with the certificate) for registration.
    pub fn with_signing_key(&mut self) -> String {
        let pkcs8 = mintgate::saml::certs::generate_rsa_key().unwrap();
        let cert = mintgate::saml::certs::self_signed(&pkcs8, "test sp", 1_700_000_000).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pkcs8(&pkcs8).unwrap();
        let key_path = self.dir.path().join("sp.key");
        let cert_path = self.dir.path().join("sp.crt");
        std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::write(&cert_path, mintgate::saml::certs::to_pem(&cert)).unwrap();
        self.key = Some((key_path, cert_path));
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}">
<md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{}" index="0"/>
</md:SPSSODescriptor></md:EntityDescriptor>"#,
            self.entity_id,
            mintgate::saml::certs::to_base64(&cert),
            self.acs
        )
    }

    fn run(&self, args: &[&str]) -> (bool, Value) {
        let md = self.dir.path().join("idp.xml");
        let out = Command::new(&self.python)
            .arg(sp_dir().join("sp.py"))
            .args(args)
            .arg("--idp-metadata")
            .arg(&md)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
            panic!(
                "sp.py {args:?}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.success(), value)
    }

    /// What pysaml2 reads from our metadata.
    pub fn metadata(&self) -> Value {
        let (ok, v) = self.run(&["metadata"]);
        assert!(ok, "{v}");
        v
    }

    /// An AuthnRequest built by pysaml2: `{"request_id", "url"}` (redirect) or
    /// `{"request_id", "action", "SAMLRequest", "RelayState"}` (post).
    pub fn request(&self, binding: &str, force_authn: bool, relay_state: &str) -> Value {
        self.request_with(binding, force_authn, relay_state, &[])
    }

    /// [`Sp::request`] with further `sp.py request` flags (`--passive`).
    pub fn request_with(
        &self,
        binding: &str,
        force_authn: bool,
        relay_state: &str,
        extra: &[&str],
    ) -> Value {
        let mut args = vec![
            "request",
            "--entity-id",
            &self.entity_id,
            "--acs",
            &self.acs,
            "--binding",
            binding,
            "--relay-state",
            relay_state,
        ];
        if force_authn {
            args.push("--force-authn");
        }
        args.extend(extra);
        let key_args;
        if let Some((key, cert)) = &self.key {
            key_args = [key.to_str().unwrap(), cert.to_str().unwrap()];
            args.extend(["--key", key_args[0], "--cert", key_args[1]]);
        }
        let (ok, v) = self.run(&args);
        assert!(ok, "{v}");
        v
    }

    /// pysaml2's verdict on a posted SAMLResponse: the NameID and attributes, or its error.
    pub fn validate(&self, request_id: &str, response: &str) -> Result<Value, Value> {
        use mintgate::clock::Clock;
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let skew = ((self.clock.now() - real).abs() + 5).to_string();
        let (ok, v) = self.run(&[
            "validate",
            "--skew",
            &skew,
            "--entity-id",
            &self.entity_id,
            "--acs",
            &self.acs,
            "--request-id",
            request_id,
            "--response",
            response,
        ]);
        if ok { Ok(v) } else { Err(v) }
    }
}

/// Registers an app as the CLI does (`org`: an organisation's name; `None`: an operator app).
pub async fn register(
    app: &TestApp,
    org: Option<&str>,
    entity_id: &str,
    acs: &str,
    nameid: &str,
    metadata: Option<String>,
) -> SamlApp {
    let state = app.state.clone();
    let (org, entity_id, acs, nameid) = (
        org.map(str::to_owned),
        entity_id.to_owned(),
        acs.to_owned(),
        nameid.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let org_id = org.map(|o| state.store.find_org(&o).unwrap().unwrap().id);
        apps::add(
            &state.store,
            state.clock.as_ref(),
            NewApp {
                org_id,
                name: None,
                entity_id: Some(entity_id),
                acs_url: Some(acs),
                metadata,
                nameid_format: Some(nameid),
            },
        )
        .unwrap()
    })
    .await
    .unwrap()
}

/// The Response form a page carries: (action, SAMLResponse, RelayState).
pub fn post_form(page: &str) -> Option<(String, String, Option<String>)> {
    let response = form_value(page, "SAMLResponse")?;
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("form#saml-post").unwrap();
    let action = doc.select(&sel).next()?.value().attr("action")?.to_owned();
    Some((action, response, form_value(page, "RelayState")))
}

/// Sends `b` to a pysaml2 request (either binding): the first answer's status, location and body.
pub async fn send_request(
    app: &TestApp,
    b: &reqwest::Client,
    request: &Value,
) -> (u16, String, String) {
    let res = if let Some(url) = request["url"].as_str() {
        // The pooled connection idled while pysaml2 ran: the server may close it just as it is
        // reused (keep-alive 5 s); a GET is sent again on a new one.
        match b.get(url).send().await {
            Ok(res) => res,
            Err(_) => b.get(url).send().await.unwrap(),
        }
    } else {
        let mut form = vec![(
            "SAMLRequest",
            request["SAMLRequest"].as_str().unwrap().to_owned(),
        )];
        if let Some(rs) = request["RelayState"].as_str() {
            form.push(("RelayState", rs.to_owned()));
        }
        let action = request["action"].as_str().unwrap();
        assert_eq!(action, app.url("/saml/sso"));
        let res = match b.post(action).form(&form).send().await {
            Ok(res) => res,
            Err(e) if e.is_request() => b.post(action).form(&form).send().await.unwrap(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(res.status(), 303, "the POST is kept");
        let to = location(res.headers());
        assert!(to.starts_with("/saml/sso/continue?m="), "{to}");
        b.get(app.url(&to)).send().await.unwrap()
    };
    let status = res.status().as_u16();
    let to = if status == 303 {
        location(res.headers())
    } else {
        String::new()
    };
    (status, to, res.text().await.unwrap())
}
