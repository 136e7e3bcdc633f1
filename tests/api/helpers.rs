//! The test harness: a real server on a random port over a fresh database (a SQLite file in a
//! temporary directory, or a PostgreSQL schema dropped afterwards), driven over real HTTP.
//!
//! A fresh database is a copy of a template that the real start-up code (migrations, the key
//! check, signing keys, the first-run owner with [`ADMIN_PASSWORD`] hashed by the real argon2id
//! hasher) prepared once per test process: a test pays for a file copy or one transaction that
//! clones the template schema, not for the migrations, key generation and argon2. Tests of the
//! first start itself take [`TestDb::empty`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use mintgate::clock::ManualClock;
use mintgate::config::{DatabaseSettings, FirstRunSettings, Settings};
use mintgate::startup::Application;
use mintgate::web::state::AppState;
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
    /// PostgreSQL: the server's URL and this test's schema, dropped with it.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A database as the first start left it (migrated, signing keys, the owner `admin` with
    /// [`ADMIN_PASSWORD`]), copied from the process's template. `None` (test skipped, said on
    /// stderr) when PostgreSQL was not configured — unless `MINTGATE_TEST_REQUIRE_POSTGRES=1`,
    /// which the CI and the README's test command set.
    pub fn new(backend: Backend) -> Option<Arc<Self>> {
        Self::create(backend, true)
    }

    /// An empty database, for the tests of the first start itself (migrations, first-run
    /// set-up, instances starting together, the operator's `migrate`).
    pub fn empty(backend: Backend) -> Option<Arc<Self>> {
        Self::create(backend, false)
    }

    fn create(backend: Backend, from_template: bool) -> Option<Arc<Self>> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let db = dir.path().join("mintgate.db");
                if from_template {
                    let template = sqlite_template();
                    std::fs::copy(template.join(TEMPLATE_DB), &db)
                        .expect("copy the template database");
                    copy_key(template, dir.path());
                }
                let url = db.display().to_string();
                Some(Arc::new(TestDb { url, dir, pg: None }))
            }
            Backend::Postgres => {
                let base = postgres_url()?;
                let schema = format!("t_{}", mintgate::crypto::random_base62(16).to_lowercase());
                let mut admin =
                    PgConnection::establish(&base).expect("connect to the PostgreSQL test server");
                if from_template {
                    let template = postgres_template(&base);
                    admin
                        .batch_execute(&template.clone_sql.replace(SCHEMA_PLACEHOLDER, &schema))
                        .expect("clone the template schema");
                    copy_key(template.dir.path(), dir.path());
                } else {
                    admin
                        .batch_execute(&format!("CREATE SCHEMA {schema}"))
                        .expect("create schema");
                }
                Some(Arc::new(TestDb {
                    url: schema_url(&base, &schema),
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

/// The PostgreSQL server's URL, `None` when not configured (see [`TestDb::new`]).
fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("MINTGATE_TEST_POSTGRES_URL") else {
        if std::env::var("MINTGATE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("MINTGATE_TEST_REQUIRE_POSTGRES=1 but MINTGATE_TEST_POSTGRES_URL is not set");
        }
        eprintln!("skipped: MINTGATE_TEST_POSTGRES_URL is not set");
        return None;
    };
    Some(base)
}

/// `base` with `schema` as the connections' search path.
fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// The SQLite template's file name in its directory (beside `secrets.key`).
const TEMPLATE_DB: &str = "template.db";

/// The template's secrets were sealed with the key file in its directory: each copy gets it.
fn copy_key(from: &Path, to: &Path) {
    std::fs::copy(from.join("secrets.key"), to.join("secrets.key")).expect("copy the key file");
}

/// Runs the real start-up set-up on `url`, with the settings every test starts from.
fn set_up_template(dir: &Path, url: &str) {
    let settings = settings_for(dir, url);
    let password = mintgate::startup::set_up_database(&settings, &ManualClock::starting_now())
        .expect("the template database is set up");
    assert!(
        password.is_none(),
        "the owner's password is the configured one"
    );
}

/// A directory holding `secrets.key` and `template.db`, made once per process.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let setup = dir.path().join("setup.db");
            set_up_template(dir.path(), &setup.display().to_string());
            // One self-contained file from a consistent snapshot, whatever is still in the WAL.
            let target = dir.path().join(TEMPLATE_DB).display().to_string();
            let mut c = SqliteConnection::establish(&setup.display().to_string())
                .expect("open the template");
            c.batch_execute(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
                .expect("write the template file");
            dir
        })
        .path()
}

/// PostgreSQL's template: a schema of this process in the test database, and the script that
/// clones it into a new schema in one transaction.
struct PgTemplate {
    /// Holds the key file the template's secrets were sealed with.
    dir: tempfile::TempDir,
    /// `SCHEMA_PLACEHOLDER` stands for the new schema's name.
    clone_sql: String,
    /// Holds this template's advisory lock for the life of the process (see
    /// [`drop_abandoned_templates`]).
    _owner: Mutex<PgConnection>,
}

const SCHEMA_PLACEHOLDER: &str = "{{schema}}";

/// Advisory-lock class of the test templates (two-key form, apart from the server's own lock).
const TEMPLATE_LOCK_CLASS: i32 = 0x6d67_7470; // "mgtp"

fn postgres_template(base: &str) -> &'static PgTemplate {
    static TEMPLATE: OnceLock<PgTemplate> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!(
            "mgtpl_{}",
            mintgate::crypto::random_base62(16).to_lowercase()
        );
        let mut owner =
            PgConnection::establish(base).expect("connect to the PostgreSQL test server");
        // Taken before the schema exists and released only when this process's connection
        // ends: another test process drops a template only when it can take its lock.
        owner
            .batch_execute(&format!(
                "SELECT pg_advisory_lock({TEMPLATE_LOCK_CLASS}, hashtext('{name}'))"
            ))
            .expect("lock the template");
        drop_abandoned_templates(&mut owner);
        owner
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("create the template schema");
        let dir = tempfile::tempdir().expect("temp dir");
        set_up_template(dir.path(), &schema_url(base, &name));
        let clone_sql = clone_script(&mut owner, &name);
        PgTemplate {
            dir,
            clone_sql,
            _owner: Mutex::new(owner),
        }
    })
}

#[derive(diesel::QueryableByName)]
struct Row3 {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = Text)]
    c: String,
}

fn rows(conn: &mut PgConnection, sql: &str) -> Vec<(String, String, String)> {
    diesel::sql_query(sql)
        .load::<Row3>(conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .into_iter()
        .map(|r| (r.a, r.b, r.c))
        .collect()
}

/// The SQL that copies schema `tpl` (tables with their columns, defaults, constraints and
/// indexes, their rows, sequences and their values, foreign keys) into a new schema. Refuses a
/// template holding kinds of objects it does not copy, so a migration adding one (a view, a
/// function, a trigger, a type) fails here instead of leaving the copies different.
fn clone_script(conn: &mut PgConnection, tpl: &str) -> String {
    let ns = format!("(SELECT oid FROM pg_namespace WHERE nspname = '{tpl}')");
    let unsupported = rows(
        conn,
        &format!(
            "SELECT 'relation' AS a, relname::text AS b, relkind::text AS c FROM pg_class
               WHERE relnamespace = {ns} AND relkind NOT IN ('r', 'S', 'i')
             UNION ALL SELECT 'function', proname::text, '' FROM pg_proc WHERE pronamespace = {ns}
             UNION ALL SELECT 'type', typname::text, typtype::text FROM pg_type
               WHERE typnamespace = {ns} AND typtype <> 'c' AND typelem = 0
                 AND typrelid = 0
             UNION ALL SELECT 'trigger', tgname::text, '' FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
               WHERE c.relnamespace = {ns} AND NOT t.tgisinternal"
        ),
    );
    assert!(
        unsupported.is_empty(),
        "tests/api/helpers.rs does not clone these template objects yet: {unsupported:?}"
    );
    // Printed while the template is the search path, so names come out unqualified and resolve
    // to the new schema when the script runs.
    conn.batch_execute(&format!("SET search_path TO {tpl}"))
        .expect("search path");
    let tables = rows(
        conn,
        &format!(
            "SELECT relname::text AS a, '' AS b, '' AS c FROM pg_class
               WHERE relnamespace = {ns} AND relkind = 'r' ORDER BY relname"
        ),
    );
    let sequences = rows(
        conn,
        &format!(
            "SELECT sequencename::text AS a, COALESCE(last_value, 1)::text AS b,
                    (last_value IS NOT NULL)::text AS c
               FROM pg_sequences WHERE schemaname = '{tpl}' ORDER BY sequencename"
        ),
    );
    let owned = rows(
        conn,
        &format!(
            "SELECT s.relname::text AS a, t.relname::text AS b, a.attname::text AS c
               FROM pg_depend d
               JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
               JOIN pg_class t ON t.oid = d.refobjid
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
               WHERE s.relnamespace = {ns} AND d.deptype = 'a'"
        ),
    );
    let sequence_defaults = rows(
        conn,
        &format!(
            "SELECT c.relname::text AS a, a.attname::text AS b,
                    pg_get_expr(d.adbin, d.adrelid) AS c
               FROM pg_attrdef d
               JOIN pg_class c ON c.oid = d.adrelid
               JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
               WHERE c.relnamespace = {ns} AND pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%'"
        ),
    );
    // Primary keys, unique and exclusion constraints before foreign keys (which need them).
    let constraints = rows(
        conn,
        &format!(
            "SELECT t.relname::text AS a, con.conname::text AS b,
                    pg_get_constraintdef(con.oid) AS c
               FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
               WHERE con.connamespace = {ns} AND con.contype IN ('p', 'u', 'x', 'f')
               ORDER BY con.contype = 'f', t.relname, con.conname"
        ),
    );
    // The other indexes, by their own names (`LIKE ... INCLUDING INDEXES` would rename them).
    let indexes = rows(
        conn,
        &format!(
            "SELECT ic.relname::text AS a, '' AS b, pg_get_indexdef(i.indexrelid) AS c
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
               WHERE ic.relnamespace = {ns} AND NOT EXISTS (
                 SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                   AND con.contype IN ('p', 'u', 'x'))
               ORDER BY ic.relname"
        ),
    );
    conn.batch_execute("RESET search_path")
        .expect("search path");

    let q = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut sql = format!(
        "BEGIN;\nCREATE SCHEMA {SCHEMA_PLACEHOLDER};\nSET LOCAL search_path TO {SCHEMA_PLACEHOLDER};\n"
    );
    for (seq, value, called) in &sequences {
        sql += &format!(
            "CREATE SEQUENCE {0};\nSELECT setval('{0}', {value}, {called});\n",
            q(seq)
        );
    }
    // Columns, defaults, NOT NULL and CHECK constraints, comments; rows before indexes.
    for (table, _, _) in &tables {
        sql += &format!(
            "CREATE TABLE {0} (LIKE {tpl}.{0} INCLUDING ALL EXCLUDING INDEXES);\n\
             INSERT INTO {0} SELECT * FROM {tpl}.{0};\n",
            q(table)
        );
    }
    for (table, column, default) in &sequence_defaults {
        sql += &format!(
            "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default};\n",
            q(table),
            q(column)
        );
    }
    for (seq, table, column) in &owned {
        sql += &format!(
            "ALTER SEQUENCE {} OWNED BY {}.{};\n",
            q(seq),
            q(table),
            q(column)
        );
    }
    for (table, name, definition) in &constraints {
        sql += &format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {definition};\n",
            q(table),
            q(name)
        );
    }
    for (_, _, definition) in &indexes {
        // `pg_get_indexdef` always names the table with its schema.
        sql += &format!("{};\n", definition.replace(&format!("{tpl}."), ""));
    }
    sql + "COMMIT;\n"
}

#[derive(diesel::QueryableByName)]
struct Nspname {
    #[diesel(sql_type = Text)]
    nspname: String,
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Drops the templates left by test processes that have ended (their lock is free).
fn drop_abandoned_templates(conn: &mut PgConnection) {
    let names: Vec<Nspname> =
        diesel::sql_query("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'mgtpl\\_%'")
            .load(conn)
            .expect("list test templates");
    for Nspname { nspname } in names {
        let lock = format!("{TEMPLATE_LOCK_CLASS}, hashtext('{nspname}')");
        let free = diesel::sql_query(format!("SELECT pg_try_advisory_lock({lock}) AS locked"))
            .get_result::<Locked>(conn)
            .is_ok_and(|l| l.locked);
        if free {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {nspname} CASCADE"));
            let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({lock})"));
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
    settings_for(db.dir.path(), &db.url)
}

/// The settings every test starts from (the template's first run used them too).
fn settings_for(dir: &Path, url: &str) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        database: DatabaseSettings {
            url: Some(url.to_owned()),
            pool_size: 4,
        },
        first_run: FirstRunSettings {
            password: Some(SecretString::from(ADMIN_PASSWORD)),
            ..FirstRunSettings::default()
        },
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
    settings.server.bind = listener.local_addr().unwrap();
    settings.server.issuer = format!("http://127.0.0.1:{port}").parse().unwrap();
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
/// The value of the page's input `name`: in its `<main>` (the page's own forms, not the
/// navigation's sign-out form) when it has one.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let main = scraper::Selector::parse(&format!("main input[name=\"{name}\"]")).unwrap();
    let sel = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&main)
        .next()
        .or_else(|| doc.select(&sel).next())
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

/// A new browser signed in with `login` and `password`.
pub async fn signed_in(app: &TestApp, login: &str, password: &str) -> reqwest::Client {
    let b = new_client();
    let res = app.post_login_with(&b, login, password, None).await;
    assert_eq!(res.status(), 303, "{login} signs in");
    b
}

/// Where the authorization endpoint sends `browser` for `url`.
pub async fn first_stop(browser: &reqwest::Client, url: &str) -> String {
    let res = browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    location(res.headers())
}

/// Follows this server's redirects from `to`; returns the first location outside it, or the
/// last local one.
pub async fn follow(app: &TestApp, browser: &reqwest::Client, mut to: String) -> String {
    for _ in 0..6 {
        if !to.starts_with('/') {
            break;
        }
        let res = browser.get(app.url(&to)).send().await.unwrap();
        if res.status() != 303 {
            break;
        }
        to = location(res.headers());
    }
    to
}

/// Fills the sign-in form at `login` (a `/login…` location) with `user` (login, password) as
/// the page shows it; returns where the answer sends the browser.
pub async fn sign_in_at(
    app: &TestApp,
    b: &reqwest::Client,
    login: &str,
    user: (&str, &str),
) -> String {
    assert!(login.starts_with("/login"), "a sign-in page: {login}");
    let page = b
        .get(app.url(login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = vec![
        (
            "csrf".to_owned(),
            form_value(&page, "csrf").expect("the sign-in form"),
        ),
        ("login".to_owned(), user.0.to_owned()),
        ("password".to_owned(), user.1.to_owned()),
    ];
    for field in ["return_to", "flow"] {
        if let Some(v) = form_value(&page, field) {
            form.push((field.to_owned(), v));
        }
    }
    let res = b.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed in");
    location(res.headers())
}

/// The kinds of the latest 200 audit events, newest first.
pub async fn audit_kinds(app: &TestApp) -> Vec<String> {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        mintgate::audit::AuditStore::recent_events(&state.store, 200)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    })
    .await
    .unwrap()
}

/// The id of the user called `username`.
pub async fn user_id(app: &TestApp, username: &str) -> mintgate::ids::UserId {
    let state = app.state.clone();
    let username = username.to_owned();
    tokio::task::spawn_blocking(move || {
        mintgate::accounts::store::UserStore::find_user_by_username(&state.store, &username)
            .unwrap()
            .expect("the user exists")
            .id
    })
    .await
    .unwrap()
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

impl TestApp {
    /// Disables `username` through the deprovision service (as the CLI does).
    pub async fn disable_user(&self, username: &str) -> mintgate::deprovision::Ended {
        let state = self.state.clone();
        let username = username.to_owned();
        tokio::task::spawn_blocking(move || {
            let user = mintgate::accounts::service::user_named(&state.store, &username).unwrap();
            let clock = state.clock.as_ref();
            mintgate::deprovision::disable(&state.store, clock, &user, None, &Default::default())
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Enables `username` again through the deprovision service.
    pub async fn enable_user(&self, username: &str) {
        let state = self.state.clone();
        let username = username.to_owned();
        tokio::task::spawn_blocking(move || {
            let user = mintgate::accounts::service::user_named(&state.store, &username).unwrap();
            let clock = state.clock.as_ref();
            mintgate::deprovision::enable(&state.store, clock, &user, None, &Default::default())
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Removes `username` from the organisation `org` through the deprovision service.
    pub async fn remove_member(&self, org: &str, username: &str) -> mintgate::deprovision::Ended {
        let state = self.state.clone();
        let (org, username) = (org.to_owned(), username.to_owned());
        tokio::task::spawn_blocking(move || {
            use mintgate::accounts::service::{org_named, user_named};
            let org = org_named(&state.store, &org).unwrap();
            let user = user_named(&state.store, &username).unwrap();
            let clock = state.clock.as_ref();
            mintgate::deprovision::remove_from_org(
                &state.store,
                clock,
                &org,
                &user,
                None,
                &Default::default(),
            )
            .unwrap()
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

/// A Python venv under `target/<venv>` with the pinned `requirements` (a path from the crate
/// root) installed, made once and kept while the requirements file is unchanged; its python.
/// `None` (skip) when python3 or pip fails, except under `CI=true`, where that fails the test.
/// Callers keep the answer in a `OnceLock` so one test process installs once.
pub fn python_venv(venv: &str, requirements: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join(venv);
    let python = dir.join("bin/python");
    let requirements = root.join(requirements);
    let wanted = std::fs::read_to_string(&requirements).expect("the requirements file");
    let stamp = dir.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Some(python);
    }
    let ok = std::process::Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "installing {} into {} failed under CI",
            requirements.display(),
            dir.display()
        );
        eprintln!(
            "skipping: {} could not be installed",
            requirements.display()
        );
        return None;
    }
    std::fs::write(&stamp, wanted).expect("the venv's stamp");
    Some(python)
}
