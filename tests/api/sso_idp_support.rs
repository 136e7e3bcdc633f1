//! Upstream OpenID Connect test support: an independent OpenID Provider (panva's certified
//! `oidc-provider`, `tests/idp/`) started per test, an SSO connection of the `default`
//! organisation to it, and a browser walk through the whole round trip.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use mintgate::clock::Clock;
use mintgate::federation::store::{ConnectionStore, DomainStore};
use mintgate::federation::types::{AttributeMapping, Connection, OidcConfig, OrgDomain, Protocol};
use mintgate::ids::{ConnectionId, OrgId};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

use crate::helpers::{TestApp, form_value, location};

pub const DOMAIN: &str = "acme.test";
const CLIENT_ID: &str = "mintgate-test";
const CLIENT_SECRET: &str = "an upstream client secret";

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp")
}

/// `npm ci` in `tests/idp` once per test process, when `node_modules` is missing. `false` when
/// node or npm is not installed: the test is skipped, except under `CI=true`, where it fails.
fn idp_installed() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let dir = idp_dir();
        let has_node = std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_node {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "node is required for the upstream OIDC tests under CI"
            );
            eprintln!("skipping: node is not installed");
            return false;
        }
        if !dir.join("node_modules/oidc-provider").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()) || std::env::var("CI").as_deref() != Ok("true"),
                "npm ci in tests/idp"
            );
        }
        dir.join("node_modules/oidc-provider").exists()
    })
}

/// A running IdP; killed on drop.
pub struct Idp {
    pub issuer: String,
    child: std::process::Child,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the IdP with one client (redirecting to `redirect`) and `accounts` by login hint.
pub async fn spawn_idp(redirect: &str, accounts: Value) -> Option<Idp> {
    if !idp_installed() {
        return None;
    }
    let config = json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [redirect],
        "accounts": accounts,
    });
    let mut child = std::process::Command::new("node")
        .arg(idp_dir().join("oidc-provider.mjs"))
        .env("IDP_CONFIG", config.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let mut idp = Idp {
        issuer: String::new(),
        child,
    };
    // Reads the issuer, then drains the pipe for as long as the IdP lives (a closed pipe would
    // end it at its next write).
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(issuer) = line.strip_prefix("ISSUER ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(issuer.to_owned());
            }
        }
    });
    let issuer = rx.await.expect("the IdP listens");
    idp.issuer = issuer;
    Some(idp)
}

/// An account at the IdP.
pub fn account(sub: &str, email: &str, verified: bool, groups: &[&str]) -> Value {
    json!({
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": format!("Person {sub}"),
        "preferred_username": email.split('@').next().unwrap(),
        "groups": groups,
    })
}

/// The `default` organisation's id.
pub async fn default_org(app: &TestApp) -> OrgId {
    org_named(app, "default").await
}

pub async fn org_named(app: &TestApp, name: &str) -> OrgId {
    let state = app.state.clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::OrgStore;
        match state.store.find_org(&name.to_lowercase()).unwrap() {
            Some(org) => org.id,
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

/// Claims and verifies `domain` for `org` (as the operator's `verify-domain` does).
pub async fn verify_domain(app: &TestApp, org: &OrgId, domain: &str) {
    let (state, org, domain) = (app.state.clone(), org.clone(), domain.to_owned());
    tokio::task::spawn_blocking(move || {
        let now = state.clock.now();
        state
            .store
            .claim_domain(&OrgDomain {
                org_id: org.clone(),
                domain: domain.clone(),
                challenge: "test".into(),
                created_at: now,
                verified_at: None,
            })
            .unwrap();
        state
            .store
            .mark_domain_verified(&org, &domain, now)
            .unwrap();
    })
    .await
    .unwrap();
}

/// An SSO connection of `org` to an IdP of its own with `accounts`.
pub struct Sso {
    pub connection: ConnectionId,
    pub org: OrgId,
    /// Kept running as long as the connection is used.
    pub _idp: Idp,
}

impl Sso {
    pub fn start_path(&self, login_hint: &str) -> String {
        format!(
            "/auth/oidc/{}/start?login_hint={}",
            self.connection.as_str(),
            url::form_urlencoded::byte_serialize(login_hint.as_bytes()).collect::<String>()
        )
    }
}

/// The `default` organisation (its domain [`DOMAIN`] verified) with a connection to a fresh
/// IdP holding `accounts`; `None` when node is missing outside CI.
pub async fn connect(app: &TestApp, accounts: Value) -> Option<Sso> {
    let org = default_org(app).await;
    verify_domain(app, &org, DOMAIN).await;
    let id = ConnectionId::generate();
    let redirect = app.url(&format!("/auth/oidc/{}/callback", id.as_str()));
    let idp = spawn_idp(&redirect, accounts).await?;
    let state = app.state.clone();
    let c = Connection {
        id: id.clone(),
        org_id: org.clone(),
        name: "Test IdP".into(),
        enabled: true,
        created_at: app.clock.now(),
        protocol: Protocol::Oidc(OidcConfig {
            issuer: idp.issuer.clone(),
            client_id: CLIENT_ID.into(),
            mapping: AttributeMapping::default(),
        }),
    };
    tokio::task::spawn_blocking(move || {
        let sealed = state.secrets.seal(c.id.as_str(), CLIENT_SECRET.as_bytes());
        state.store.create_connection(&c, Some(&sealed)).unwrap();
    })
    .await
    .unwrap();
    Some(Sso {
        connection: id,
        org,
        _idp: idp,
    })
}

/// Follows redirects from `start` (a path of the app, or the IdP's URL) through the IdP until
/// the browser is back at the app's callback, submitting the start's "Continue" page on the
/// way; returns the callback URL (not requested yet).
pub async fn to_callback(app: &TestApp, b: &reqwest::Client, start: &str) -> String {
    let mut url = if start.starts_with('/') {
        app.url(start)
    } else {
        start.to_owned()
    };
    for _ in 0..12 {
        if url.starts_with(&app.address) && url.contains("/callback") {
            return url;
        }
        let mut res = b.get(&url).send().await.unwrap();
        if url.starts_with(&app.address) && url.contains("/start") && res.status() == 200 {
            res = continue_page(b, &url, &res.text().await.unwrap()).await;
        }
        assert!(
            res.status().is_redirection(),
            "{url}: {} {}",
            res.status(),
            res.text().await.unwrap()
        );
        let next = location(res.headers());
        url = if next.starts_with('/') {
            let base = url::Url::parse(&url).unwrap();
            base.join(&next).unwrap().to_string()
        } else {
            next
        };
    }
    panic!("never came back to the callback: {url}")
}

/// Submits the "Continue to sign in" page `page` that `GET start_url` showed.
pub async fn continue_page(b: &reqwest::Client, start_url: &str, page: &str) -> reqwest::Response {
    let field = |name: &str| form_value(page, name).unwrap_or_default();
    let post = start_url.split('?').next().unwrap_or(start_url);
    b.post(post)
        .form(&[
            ("csrf", field("csrf")),
            ("return_to", field("return_to")),
            ("login_hint", field("login_hint")),
        ])
        .send()
        .await
        .unwrap()
}

/// "Continue with SSO" on the sign-in page with `email`, then through the IdP: the callback
/// URL (not requested yet).
pub async fn from_login(app: &TestApp, b: &reqwest::Client, email: &str) -> String {
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
    let idp = location(res.headers());
    assert!(!idp.starts_with('/'), "straight on to the IdP: {idp}");
    to_callback(app, b, &idp).await
}

/// The whole round trip for `login_hint`: the callback's status and where it sends the
/// browser (or its page).
pub async fn sso_sign_in(
    app: &TestApp,
    b: &reqwest::Client,
    sso: &Sso,
    login_hint: &str,
) -> (u16, String) {
    let callback = to_callback(app, b, &sso.start_path(login_hint)).await;
    answer(b, &callback).await
}

/// The app's answer to `url`: the status and the location, or the page.
pub async fn answer(b: &reqwest::Client, url: &str) -> (u16, String) {
    let res = b.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    if res.status().is_redirection() {
        (status, location(res.headers()))
    } else {
        (status, res.text().await.unwrap())
    }
}

/// The ids of users with this e-mail address in `org`.
pub async fn users_with_email(app: &TestApp, email: &str) -> Vec<mintgate::accounts::types::User> {
    let state = app.state.clone();
    let email = email.to_owned();
    tokio::task::spawn_blocking(move || {
        use mintgate::accounts::store::UserStore;
        state
            .store
            .list_users()
            .unwrap()
            .into_iter()
            .filter(|u| u.email.eq_ignore_ascii_case(&email))
            .collect()
    })
    .await
    .unwrap()
}

pub async fn groups_of(app: &TestApp, user: &mintgate::ids::UserId, org: &OrgId) -> Vec<String> {
    let (state, user, org) = (app.state.clone(), user.clone(), org.clone());
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::store::UserStore::user_groups(&state.store, &user, &org).unwrap()
    })
    .await
    .unwrap()
}
