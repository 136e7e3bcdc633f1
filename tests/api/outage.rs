//! A database outage is a 503 with `Retry-After` wherever it shows — a page, the OAuth
//! endpoints, userinfo, `/v1` — each in its own protocol's body: a Bearer client at userinfo
//! still gets JSON and a challenge, never the error page.
//!
//! The outage is real: on PostgreSQL the app talks to the database through a TCP relay that the
//! test cuts (open connections die, new ones are refused); on SQLite the database file is moved
//! away and a directory put in its place, so the connections a request opens fail. SQLite's
//! pooled connections keep the moved file open, so there only the paths that open a connection
//! of their own per worker thread (the inline reads: userinfo, `/v1`, the token endpoint) see it.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mintgate::clock::ManualClock;
use serde_json::Value;

use crate::both;
use crate::helpers::*;

/// A TCP relay to PostgreSQL that the test can cut.
struct Relay {
    addr: std::net::SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (cut2, open2) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            // Dropping the listener when cut: new connections are refused.
            while !cut2.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut held = open2.lock().unwrap();
                held.push(client.try_clone().unwrap());
                held.push(server.try_clone().unwrap());
                drop(held);
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(Shutdown::Both);
                });
            }
        });
        Relay { addr, cut, open }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

/// An app whose database the test can take away.
struct Outage {
    app: TestApp,
    relay: Option<Relay>,
    sqlite_file: Option<String>,
}

impl Outage {
    async fn spawn(backend: Backend) -> Option<Outage> {
        let db = TestDb::new(backend)?;
        let clock = ManualClock::starting_now();
        Some(match backend {
            Backend::Sqlite => Outage {
                app: spawn_on(&db, clock, |_| {}).await,
                relay: None,
                sqlite_file: Some(db.url.clone()),
            },
            Backend::Postgres => {
                let mut url = url::Url::parse(&db.url).unwrap();
                let upstream = format!(
                    "{}:{}",
                    url.host_str().unwrap(),
                    url.port_or_known_default().unwrap()
                );
                let relay = Relay::start(upstream);
                url.set_ip_host(relay.addr.ip()).unwrap();
                url.set_port(Some(relay.addr.port())).unwrap();
                let app = spawn_on(&db, clock, |s| {
                    s.database.url = Some(url.to_string());
                })
                .await;
                Outage {
                    app,
                    relay: Some(relay),
                    sqlite_file: None,
                }
            }
        })
    }

    fn begin(&self) {
        if let Some(relay) = &self.relay {
            relay.cut();
        }
        if let Some(file) = &self.sqlite_file {
            std::fs::rename(file, format!("{file}.gone")).unwrap();
            std::fs::create_dir(file).unwrap();
        }
    }
}

/// Status, `Retry-After`, content type, `WWW-Authenticate` and body of an answer.
async fn parts(res: reqwest::Response) -> (u16, String, String, String, String) {
    let h = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (retry, ctype, challenge) = (h("retry-after"), h("content-type"), h("www-authenticate"));
    (
        res.status().as_u16(),
        retry,
        ctype,
        challenge,
        res.text().await.unwrap(),
    )
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: not JSON: {body}"))
}

async fn an_outage_is_503_with_retry_after_everywhere(backend: Backend) {
    let Some(outage) = Outage::spawn(backend).await else {
        return;
    };
    let app = &outage.app;
    outage.begin();
    let token = format!("mg_token_{}", "a".repeat(43));
    let client = new_client();
    let userinfo = client
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(&token)
        .send();
    let v1 = client
        .get(app.url("/v1/auth/verify"))
        .bearer_auth(&token)
        .send();
    let oauth = client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "some-client"),
            ("client_secret", "some-secret"),
        ])
        .send();
    // Pages: a session lookup, and the authorization endpoint's client lookup.
    let account = client
        .get(app.url("/account"))
        .header("cookie", format!("mg_session={}", "s".repeat(43)))
        .send();
    let authorize = client
        .get(app.url("/oauth/authorize?response_type=code&client_id=some-client"))
        .send();
    // All at once: on PostgreSQL a request that finds no live connection waits for the pool's
    // connection timeout before it is answered.
    let (userinfo, v1, oauth, account, authorize) =
        futures::join!(userinfo, v1, oauth, account, authorize);

    let (status, retry, ctype, challenge, body) = parts(userinfo.unwrap()).await;
    assert_eq!((status, retry.as_str()), (503, "5"), "userinfo: {body}");
    assert!(ctype.starts_with("application/json"), "userinfo: {ctype}");
    assert!(challenge.starts_with("Bearer "), "userinfo: {challenge}");
    assert_eq!(json(&body)["error"], "temporarily_unavailable");

    let (status, retry, _, _, body) = parts(v1.unwrap()).await;
    assert_eq!((status, retry.as_str()), (503, "5"), "/v1: {body}");
    assert_eq!(json(&body)["code"], "SERVICE_UNAVAILABLE");

    let (status, retry, _, _, body) = parts(oauth.unwrap()).await;
    assert_eq!((status, retry.as_str()), (503, "5"), "token: {body}");
    assert_eq!(json(&body)["error"], "temporarily_unavailable");

    // SQLite's pages read through the pool, whose connections still hold the moved file.
    if backend == Backend::Postgres {
        for (name, res) in [("account", account), ("authorize", authorize)] {
            let (status, retry, ctype, _, body) = parts(res.unwrap()).await;
            assert_eq!((status, retry.as_str()), (503, "5"), "{name}: {body}");
            assert!(ctype.starts_with("text/html"), "{name}: {ctype}");
        }
    }
}

both!(an_outage_is_503_with_retry_after_everywhere);
