//! SAML single sign-on in headless Chromium: from the sign-in page by e-mail domain, to a tiny
//! independent IdP (`tests/saml/idp.py`: Python standard library, `openssl` verifying our
//! signed AuthnRequest, `xmlsec1` signing its Response), back through the auto-submitted POST
//! to our ACS, signed in at the organisation.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use crate::browser::{click, launch, text_of, type_into, wait_for_url};
use crate::helpers::{Backend, spawn_app};
use crate::saml_sp_support::{TestIdp, have_xmlsec1, saml_connection_from};

/// The Python IdP process, killed on drop.
struct PyIdp(Child);

impl Drop for PyIdp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("python3 is required under CI=true");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_sign_in_in_a_real_browser() {
    if !have_xmlsec1() || !have_python() {
        return;
    }
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let idp = TestIdp::new();
    // A free port for the IdP, which its metadata names before it starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sso = format!("http://127.0.0.1:{port}/sso");
    let sp = saml_connection_from(&app, idp.metadata_with_sso(&sso), false).await;
    let sp_cert = idp.path("sp-cert.pem");
    let der =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &sp.sp_cert).unwrap();
    std::fs::write(&sp_cert, mintgate::saml::certs::to_pem(&der)).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/saml/idp.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string()])
        .arg("--key")
        .arg(idp.path("key.pem"))
        .arg("--cert")
        .arg(idp.path("cert.pem"))
        .arg("--sp-cert")
        .arg(&sp_cert)
        .args(["--entity", crate::saml_sp_support::IDP_ENTITY])
        .args(["--acs", &sp.acs_url])
        .args(["--audience", &sp.entity_id])
        .args(["--email", "alice@acme.test"])
        .args(["--name-id", "idp-alice-1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), port.to_string(), "the IdP listens");
    let _idp_process = PyIdp(child);

    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/account")).await.unwrap();
    wait_for_url(&page, |u| u.contains("/login")).await;
    type_into(&page, "#sso", "alice@acme.test").await;
    click(&page, "#sso-sign-in button[type=submit]").await;
    let url = wait_for_url(&page, |u| u.ends_with("/account")).await;
    assert!(
        url.ends_with("/account"),
        "{url}: {}",
        page.content().await.unwrap_or_default()
    );
    assert_eq!(text_of(&page, "#username").await.as_deref(), Some("alice"));
    let html = page.content().await.unwrap();
    assert!(
        html.contains("default"),
        "the organisation is shown: {html}"
    );
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}
