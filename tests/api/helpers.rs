//! The test harness: a real server on a random port over a fresh database (a SQLite file in a
//! temporary directory, or a PostgreSQL schema dropped afterwards), driven over real HTTP.

use std::net::TcpListener;
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use mintgate::clock::ManualClock;
use mintgate::config::Settings;
use mintgate::startup::{AppState, Application};
use reqwest::header::HeaderMap;
use secrecy::SecretString;

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test; several app instances may share it.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// `None` (test skipped, said on stderr) when PostgreSQL was not configured — unless
    /// `MINTGATE_TEST_REQUIRE_POSTGRES=1`, which the CI and the README's test command set.
    pub fn new(backend: Backend) -> Option<Arc<Self>> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = dir.path().join("mintgate.db").display().to_string();
                Some(Arc::new(TestDb { url, dir, pg: None }))
            }
            Backend::Postgres => {
                let Ok(base) = std::env::var("MINTGATE_TEST_POSTGRES_URL") else {
                    if std::env::var("MINTGATE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                        panic!(
                            "MINTGATE_TEST_REQUIRE_POSTGRES=1 but MINTGATE_TEST_POSTGRES_URL is not set"
                        );
                    }
                    eprintln!("skipped: MINTGATE_TEST_POSTGRES_URL is not set");
                    return None;
                };
                let schema = format!("t_{}", mintgate::crypto::random_base62(16).to_lowercase());
                let mut admin =
                    PgConnection::establish(&base).expect("connect to the PostgreSQL test server");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Some(Arc::new(TestDb {
                    url,
                    dir,
                    pg: Some((base, schema)),
                }))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg
            && let Ok(mut c) = PgConnection::establish(base)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: actix_web::web::Data<AppState>,
    pub settings: Settings,
    /// Keeps the database (and its directory) alive as long as the app.
    _db: Arc<TestDb>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(db.url.clone()),
        database_pool_size: 4,
        admin_password: Some(SecretString::from(ADMIN_PASSWORD)),
        ..Settings::default()
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend)?;
    Some(spawn_on(&db, ManualClock::starting_now(), |_| {}).await)
}

/// Another instance on the same database (and clock), or one with tweaked settings.
pub async fn spawn_on(
    db: &Arc<TestDb>,
    clock: ManualClock,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        mintgate::telemetry::init(mintgate::config::LogFormat::Text);
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let mut settings = test_settings(db);
    settings.bind = listener.local_addr().unwrap();
    settings.issuer = format!("http://127.0.0.1:{port}").parse().unwrap();
    tweak(&mut settings);
    let app = Application::build_on(settings.clone(), listener, Arc::new(clock.clone()))
        .expect("app builds");
    let state = app.state();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: new_client(),
        clock,
        state,
        settings,
        _db: db.clone(),
        server,
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of `<input name=NAME value=...>` in an HTML page.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_owned)
}

pub fn location(headers: &HeaderMap) -> String {
    headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET /login and read its CSRF token.
    pub async fn login_csrf(&self) -> String {
        self.login_csrf_with(&self.client).await
    }

    pub async fn login_csrf_with(&self, client: &reqwest::Client) -> String {
        let page = client
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        form_value(&page, "csrf").expect("login form has a csrf field")
    }

    pub async fn post_login(&self, login: &str, password: &str) -> reqwest::Response {
        self.post_login_with(&self.client, login, password, None)
            .await
    }

    pub async fn post_login_with(
        &self,
        client: &reqwest::Client,
        login: &str,
        password: &str,
        return_to: Option<&str>,
    ) -> reqwest::Response {
        let csrf = self.login_csrf_with(client).await;
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ];
        if let Some(r) = return_to {
            form.push(("return_to", r));
        }
        client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in as the first-run owner and checks it worked.
    pub async fn sign_in_admin(&self) {
        let res = self.post_login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        assert_eq!(res.status(), 303, "admin sign-in should redirect");
    }

    /// The account page's HTML when signed in; `None` when redirected to the login page.
    pub async fn account_page(&self) -> Option<String> {
        self.account_page_with(&self.client).await
    }

    pub async fn account_page_with(&self, client: &reqwest::Client) -> Option<String> {
        let res = client.get(self.url("/account")).send().await.unwrap();
        match res.status().as_u16() {
            200 => Some(res.text().await.unwrap()),
            303 => {
                assert!(location(res.headers()).starts_with("/login"));
                None
            }
            other => panic!("unexpected status {other} from /account"),
        }
    }

    /// Creates a user through the accounts service (as the CLI does).
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
    ) -> mintgate::accounts::types::User {
        let state = self.state.clone();
        let (username, password) = (username.to_owned(), password.to_owned());
        tokio::task::spawn_blocking(move || {
            let input = mintgate::accounts::service::CreateUser {
                username: username.clone(),
                email: format!("{username}@example.com"),
                display_name: None,
                password: Some(SecretString::from(password)),
                org: Some("default".into()),
                role: mintgate::accounts::types::Role::Member,
            };
            mintgate::accounts::service::create_user(
                &state.store,
                &state.hasher,
                state.clock.as_ref(),
                input,
                &Default::default(),
            )
            .unwrap()
            .0
        })
        .await
        .unwrap()
    }
}

/// Runs an `async fn(Backend)` test once per backend: `both!(name);`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}
