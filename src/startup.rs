//! Building the application from `Settings`: shared by `main` and the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::password::PasswordHasher;
use crate::accounts::service::AccountError;
use crate::accounts::throttle::Throttle;
use crate::accounts::types::{Email, NewUser, Organisation, Role, Username, parse_org_name};
use crate::apikeys::service::{KeyFormat, UsageLog};
use crate::audit::{AuditEvent, AuditKind, RequestMeta};
use crate::clock::{Clock, SystemClock};
use crate::config::{FirstRunSettings, ServerSettings, Settings};
use crate::crypto;
use crate::ids::{OrgId, UserId};
use crate::ops::metrics::Metrics;
use crate::routes;
use crate::secrets::{SecretBox, SecretsError};
use crate::sessions::service::SessionPolicy;
use crate::signing::{self, KeyError, KeySet, Keys, SigningAlg};
use crate::store::{SetupTx, Store, StoreError};
use crate::web::paths;
use crate::web::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(
        "the secrets key file {0} does not match this database (it was set up with another key)"
    )]
    WrongKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// The stored signing keys cannot be loaded.
    #[error("first-run set-up: {0}")]
    Keys(#[source] KeyError),
    /// A missing signing key cannot be generated.
    #[error("database error: {0}")]
    KeyGeneration(#[source] KeyError),
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::MailConfigError),
    /// The configured first-run organisation or owner is not valid (or hashing is refused).
    #[error("database error: first-run set-up: {0}")]
    FirstRun(#[source] AccountError),
}

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` alone on `metrics_bind`, when set.
    metrics: Option<(u16, Server)>,
    state: web::Data<AppState>,
    first_run_password: Option<SecretString>,
}

const KEK_CHECK: &str = "kek_check";

impl Application {
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock))
    }

    pub fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let bind = settings.server.bind;
        let listener = TcpListener::bind(bind).map_err(|source| StartupError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        Self::build_on(settings, listener, clock)
    }

    /// Connects, migrates under the set-up lock, runs first-run set-up and serves on `listener`
    /// (tests bind port 0 first so the issuer can name the port).
    pub fn build_on(
        settings: Settings,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let secrets = SecretBox::load_or_create(&settings.secrets_key_file())?;
        let store = Store::connect(&settings.database_url(), settings.database.pool_size)?;
        let hasher = PasswordHasher::per_core(settings.login.password_hash_queue);
        let (first_run_password, stored_keys) =
            set_up(&store, &settings, &secrets, &hasher, clock.as_ref())?;

        let key_set =
            KeySet::load(&stored_keys, &secrets, clock.now()).map_err(StartupError::Keys)?;
        // xmlsec's global set-up, once, before any worker can race it.
        crate::saml::init();
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.server.bind.to_string(),
                source,
            })?
            .port();

        let mailer = Arc::new(crate::mail::Mailer::from_settings(&settings)?);
        let state = web::Data::new(AppState {
            mailer,
            throttle: Throttle::from(&settings.login),
            session_policy: SessionPolicy::from(&settings.sessions),
            csrf_key: secrets.derived_key("csrf"),
            keys: Keys::new(key_set),
            key_format: KeyFormat::from(&settings.api_keys),
            key_usage: UsageLog::default(),
            discovery: crate::oidc::discovery::document(&settings.server).into(),
            openapi: crate::v1::openapi::document().into(),
            relying_party: crate::mfa::passkeys::RelyingParty::from_issuer(&settings.server.issuer),
            upstream: Arc::new(crate::federation::oidc_rp::UpstreamRp::new()),
            settings: Arc::new(settings),
            store,
            clock,
            hasher,
            secrets,
            metrics: Metrics::new(),
        });
        let metrics = match state.settings.server.metrics_bind {
            Some(addr) => Some(serve_metrics(addr, state.clone())?),
            None => None,
        };
        let server = serve(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            metrics,
            state,
            first_run_password,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on when `metrics_bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The generated owner password, on the first start of an empty database only.
    pub fn take_first_run_password(&mut self) -> Option<SecretString> {
        self.first_run_password.take()
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = crate::ops::jobs::spawn(self.state.clone());
        let mail = tokio::spawn(self.state.mailer.clone().run());
        let result = match self.metrics {
            None => self.server.await,
            Some((_, metrics)) => {
                // Both servers see SIGTERM; whichever ends first stops the other.
                let (main_handle, metrics_handle) = (self.server.handle(), metrics.handle());
                let (main, _) = tokio::join!(
                    async {
                        let r = self.server.await;
                        metrics_handle.stop(true).await;
                        r
                    },
                    async {
                        let r = metrics.await;
                        main_handle.stop(true).await;
                        r
                    }
                );
                main
            }
        };
        jobs.abort();
        mail.abort();
        // Keep the last-use times gathered since the last flush.
        let st = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || crate::ops::jobs::flush_key_usage(&st)).await;
        result
    }
}

/// Brings a database to the state a start leaves it in before serving — migrated, the key
/// check sealed, signing keys made, the first-run owner created — through the same code as
/// [`Application::build_on`], without listening. Returns the generated owner password, if any.
/// The tests build their migrated template database with it once per test process.
pub fn set_up_database(
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<Option<SecretString>, StartupError> {
    let secrets = SecretBox::load_or_create(&settings.secrets_key_file())?;
    let store = Store::connect_on_demand(&settings.database_url())?;
    let hasher = PasswordHasher::per_core(settings.login.password_hash_queue);
    let (password, _) = set_up(&store, settings, &secrets, &hasher, clock)?;
    Ok(password)
}

/// Migrations, then under the same set-up lock: the key check, signing keys, first run.
fn set_up(
    store: &Store,
    settings: &Settings,
    secrets: &SecretBox,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
) -> Result<(Option<SecretString>, Vec<signing::StoredKey>), StartupError> {
    store.migrate_then(|tx| {
        check_key(tx, secrets, &settings.secrets_key_file())?;
        ensure_signing_keys(tx, secrets, clock.now())?;
        Ok((
            first_run(tx, &settings.first_run, hasher, clock)?,
            tx.list_signing_keys()?,
        ))
    })
}

fn serve(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, StartupError> {
    let limit = state.settings.server.body_limit;
    let https = state.settings.server.is_https();
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let metrics = web::Data::new(state.metrics.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(routes::form_config(limit))
            .app_data(routes::json_config(limit))
            .app_data(routes::query_config())
            .app_data(routes::path_config())
            .app_data(web::PayloadConfig::new(limit))
            .wrap(middleware::from_fn(crate::web::nav::show_nav))
            .wrap(middleware::from_fn(crate::web::fill_error_bodies))
            .wrap(routes::security_headers(https))
            .wrap(middleware::from_fn(crate::ops::metrics::observe))
            .configure(routes::configure)
    })
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|source| StartupError::Bind { addr, source })?
    .run();
    Ok(server)
}

/// `/metrics` alone on its own address (`metrics_bind`), one worker; everything else is 404.
fn serve_metrics(
    addr: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> Result<(u16, Server), StartupError> {
    let bind_err = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_err)?;
    let port = listener.local_addr().map_err(bind_err)?.port();
    let https = state.settings.server.is_https();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(middleware::from_fn(crate::web::fill_error_bodies))
            .wrap(routes::security_headers(https))
            .route(
                paths::METRICS,
                web::get().to(crate::ops::http::metrics_only),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(crate::web::error::WebError::NotFound)
            }))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(bind_err)?
    .run();
    Ok((port, server))
}

/// The KEK must open the check value sealed at first start: a wrong key file is refused
/// before it can seal anything that the other instances could not open.
fn check_key(
    tx: &mut SetupTx<'_>,
    secrets: &SecretBox,
    key_file: &std::path::Path,
) -> Result<(), StartupError> {
    let row_id = format!("meta:{KEK_CHECK}");
    match tx.get_meta(KEK_CHECK)? {
        Some(sealed) => match secrets.open(&row_id, &sealed) {
            Ok(_) => Ok(()),
            Err(_) => Err(StartupError::WrongKey(key_file.display().to_string())),
        },
        None => Ok(tx.put_meta(KEK_CHECK, &secrets.seal(&row_id, b"mintgate"))?),
    }
}

/// Every algorithm has a key: generated (active at once) on first start or after an upgrade.
fn ensure_signing_keys(
    tx: &mut SetupTx<'_>,
    secrets: &SecretBox,
    now: i64,
) -> Result<(), StartupError> {
    let existing = tx.list_signing_keys()?;
    for alg in SigningAlg::ALL {
        if !existing.iter().any(|k| k.alg == alg) {
            let key =
                signing::generate(alg, secrets, now, now).map_err(StartupError::KeyGeneration)?;
            tx.insert_signing_key(&key)?;
        }
    }
    Ok(())
}

/// On a database with no users: the organisation and its owner. Returns the password when it
/// was generated (so `main` can show it once).
fn first_run(
    tx: &mut SetupTx<'_>,
    first_run: &FirstRunSettings,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
) -> Result<Option<SecretString>, StartupError> {
    if tx.count_users()? > 0 {
        return Ok(None);
    }
    let now = clock.now();
    let (org_name, org_key) = parse_org_name(&first_run.org).map_err(first_run_error)?;
    let org = match tx.find_org(&org_key)? {
        Some(org) => org,
        None => {
            let org = Organisation::new(OrgId::generate(), org_name, now);
            tx.create_org(&org, &org_key)?;
            org
        }
    };
    let (password, generated) = match &first_run.password {
        Some(pw) => (pw.clone(), false),
        None => (SecretString::from(crypto::random_base62(24)), true),
    };
    let hash = hasher.hash(&password).map_err(first_run_error)?;
    let user = NewUser {
        id: UserId::generate(),
        username: Username::parse(&first_run.username).map_err(first_run_error)?,
        email: Email::parse(&first_run.email).map_err(first_run_error)?,
        display_name: "Administrator".into(),
        password_hash: Some(hash),
        email_verified: false,
        home: crate::accounts::types::Namespace::Server,
    };
    let user = tx.create_user(&user, Some((&org.id, Role::Owner)), now)?;
    tx.record_event(
        &AuditEvent::new(now, AuditKind::UserCreated, &RequestMeta::default())
            .org(&org.id)
            .user(&user.id)
            .subject(&user.username)
            .detail("first-run owner"),
    )?;
    tracing::info!(org = %org.name, username = %user.username, "first run: created the organisation and its owner");
    Ok(generated.then_some(password))
}

fn first_run_error(e: impl Into<AccountError>) -> StartupError {
    StartupError::FirstRun(e.into())
}

/// Prints the generated password to stderr, outside the log stream (which goes to stdout).
pub fn announce_first_run_password(
    server: &ServerSettings,
    first_run: &FirstRunSettings,
    password: &SecretString,
) {
    eprintln!(
        "\n  mintgate first run: sign in at {} as `{}` with password\n\n      {}\n\n  This is shown once. Change it or set MINTGATE_ADMIN_PASSWORD before the first start.\n",
        server.url_for(paths::LOGIN),
        first_run.username,
        password.expose_secret()
    );
}
