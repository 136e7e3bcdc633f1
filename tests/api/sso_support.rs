//! Shared by the SSO tests: a tiny DNS server answering TXT questions from a map, and set-up of
//! organisations, members and connections through the services (as the CLI does).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use mintgate::accounts::types::Role;
use mintgate::federation::connections::{self, NewOidc};
use mintgate::federation::types::Connection;
use mintgate::ids::OrgId;
use secrecy::SecretString;

use crate::helpers::*;

/// A DNS server on a random UDP port of 127.0.0.1 that answers TXT questions from `records`
/// (by lower-case name without the trailing dot); other names are NXDOMAIN. Stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let records: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (records.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut answer = Message::response(query.metadata.id, OpCode::Query);
                answer.add_queries(query.queries.iter().cloned());
                let q = query.queries.first().cloned();
                let values = q.as_ref().and_then(|q| {
                    let name = q.name().to_ascii().trim_end_matches('.').to_lowercase();
                    r.lock().unwrap().get(&name).cloned()
                });
                match (q, values) {
                    (Some(q), Some(values)) if q.query_type() == RecordType::TXT => {
                        for v in values {
                            answer.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::TXT(TXT::new(vec![v])),
                            ));
                        }
                    }
                    _ => answer.metadata.response_code = ResponseCode::NXDomain,
                }
                let _ = socket.send_to(&answer.to_vec().unwrap(), from);
            }
        });
        Self {
            addr,
            records,
            stop,
        }
    }

    /// Publishes `value` (replacing what was there) as the TXT record of `name`.
    pub fn set_txt(&self, name: &str, value: &str) {
        self.records
            .lock()
            .unwrap()
            .insert(name.to_lowercase(), vec![value.to_owned()]);
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Creates organisation `org` (when missing) and user `username` (password `password`,
/// e-mail `<username>@<email_domain>`) as its member with `role`; returns the org's id.
pub async fn member_of(
    app: &TestApp,
    org: &str,
    username: &str,
    email_domain: &str,
    role: Role,
) -> OrgId {
    let state = app.state.clone();
    let (org, username, email_domain) =
        (org.to_owned(), username.to_owned(), email_domain.to_owned());
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        let clock = state.clock.as_ref();
        let found = state.store.find_org(&org.to_lowercase()).unwrap();
        let org_id = match found {
            Some(o) => o.id,
            None => {
                mintgate::accounts::service::create_org(&state.store, clock, &org)
                    .unwrap()
                    .id
            }
        };
        let input = mintgate::accounts::service::CreateUser {
            email: format!("{username}@{email_domain}"),
            username,
            display_name: None,
            password: Some(SecretString::from(PASSWORD)),
            org: Some(org),
            role,
        };
        mintgate::accounts::service::create_user(
            &state.store,
            &state.hasher,
            clock,
            input,
            &Default::default(),
        )
        .unwrap();
        org_id
    })
    .await
    .unwrap()
}

/// The password of every user [`member_of`] creates.
pub const PASSWORD: &str = "a long enough password";

/// The id of organisation `name` (created when missing).
pub async fn org_id(app: &TestApp, name: &str) -> OrgId {
    let state = app.state.clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        match state.store.find_org(&name.to_lowercase()).unwrap() {
            Some(o) => o.id,
            None => {
                mintgate::accounts::service::create_org(&state.store, state.clock.as_ref(), &name)
                    .unwrap()
                    .id
            }
        }
    })
    .await
    .unwrap()
}

/// Adds an OIDC connection to `org` through the service.
pub async fn add_connection(app: &TestApp, org: &OrgId, issuer: &str) -> Connection {
    let state = app.state.clone();
    let (org, issuer) = (org.clone(), issuer.to_owned());
    tokio::task::spawn_blocking(move || {
        let input = NewOidc {
            name: None,
            issuer,
            client_id: "mintgate".into(),
            client_secret: Some(SecretString::from("upstream secret")),
            preset: Default::default(),
            overrides: Default::default(),
        };
        connections::add_oidc(
            &state.store,
            &state.secrets,
            state.clock.as_ref(),
            &org,
            input,
            None,
            &Default::default(),
        )
        .unwrap()
    })
    .await
    .unwrap()
}

/// The CSRF token of the form on `path` as `browser` sees it.
pub async fn page_csrf(app: &TestApp, browser: &reqwest::Client, path: &str) -> String {
    let page = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200, "{path}");
    form_value(&page.text().await.unwrap(), "csrf").expect("a form with a CSRF token")
}

/// POSTs `form` (with `browser`'s CSRF token from `page`) to `path`.
pub async fn post_form(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = page_csrf(app, browser, page).await;
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    browser
        .post(app.url(path))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// A minimal OpenID Provider on a random port of 127.0.0.1 that serves only discovery (with
/// `token_endpoint` as given, `{issuer}` replaced) and an empty JWKS: enough for the start of
/// an upstream sign-in. Its issuer URL.
pub fn spawn_discovery(token_endpoint: &str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let doc = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": token_endpoint.replace("{issuer}", &issuer),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let body = if request.starts_with("GET /jwks") {
                r#"{"keys":[]}"#.to_owned()
            } else {
                doc.clone()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    issuer
}
