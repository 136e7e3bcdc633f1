//! mintgate as SAML IdP in headless Chromium: a pysaml2-built AuthnRequest, the sign-in page,
//! and the auto-submitted Response form reaching the SP's ACS (a listener of the test), whose
//! captured SAMLResponse pysaml2 accepts.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::browser::{click, launch, type_into, wait_for_url};
use crate::helpers::{Backend, spawn_app};
use crate::saml_idp_support::{Sp, register};

const PASSWORD: &str = "a long enough password for saml";

/// The SP's ACS: answers every request, and hands over the body of the first POST to `/acs`.
async fn acs_listener() -> (String, tokio::sync::oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/acs", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Headers, then the body by Content-Length.
            let body = loop {
                let Ok(n) = stream.read(&mut chunk).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())
                                .flatten()
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break Some((text[..end].to_owned(), text[end + 4..].to_owned()));
                    }
                }
            };
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 11\r\nconnection: close\r\n\r\nSP received")
                .await;
            if let Some((head, body)) = body
                && head.starts_with("POST /acs ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(body);
            }
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_sign_in_in_a_real_browser() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.create_user("alice", PASSWORD).await;
    let (acs, received) = acs_listener().await;
    let entity = "https://browser-sp.example.com";
    register(&app, None, entity, &acs, "email", None).await;
    let Some(sp) = Sp::new(&app, entity, &acs).await else {
        return;
    };
    let request = sp.request("redirect", false, "back-to-page-7");
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser
        .new_page(request["url"].as_str().unwrap())
        .await
        .unwrap();
    let url = wait_for_url(&page, |u| u.contains("/login")).await;
    assert!(url.contains("return_to=%2Fsaml%2Fsso%2Fresume"), "{url}");
    type_into(&page, "#login", "alice").await;
    type_into(&page, "#password", PASSWORD).await;
    click(&page, "button[type=submit]").await;
    let body = tokio::time::timeout(Duration::from_secs(20), received)
        .await
        .expect("the form reached the ACS")
        .unwrap();
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fields["RelayState"], "back-to-page-7");
    let seen = sp
        .validate(
            request["request_id"].as_str().unwrap(),
            &fields["SAMLResponse"],
        )
        .expect("pysaml2 accepts what the browser posted");
    assert_eq!(seen["name_id"], "alice@example.com");
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}
