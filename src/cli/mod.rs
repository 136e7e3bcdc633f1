//! The command line: `serve` (the default) and the operator commands, which work directly on
//! the configured database. Human output by default, `--json` for scripts.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod auth;
mod failure;
mod org;
mod saml_app;
mod scim;
mod sso;

pub use failure::CliFailure;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::accounts::password::PasswordHasher;
use crate::accounts::service::{self, AccountError, CreateUser};
use crate::accounts::store::UserStore;
use crate::accounts::types::{Role, User};
use crate::audit::RequestMeta;
use crate::clock::{SystemClock, rfc3339};
use crate::config::Settings;
use crate::deprovision;
use crate::ids::{ClientId, KeyId};
use crate::store::{Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "mintgate",
    version,
    about = "An OAuth 2.0 / OpenID Connect identity provider"
)]
pub struct Cli {
    /// Configuration file (TOML); every key can be overridden by MINTGATE_<KEY>.
    #[arg(long, global = true, env = "MINTGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Organisations and their members.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// An organisation's groups (the `groups` claim).
    #[command(subcommand)]
    Group(org::GroupCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Sign in to a mintgate server and manage your API keys (a client of the server).
    Auth(auth::AuthArgs),
    /// API keys, provisioned directly on the database (a CI key, an organisation's first key).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Token signing keys.
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// An organisation's SSO connections.
    #[command(subcommand)]
    Sso(sso::SsoCommand),
    /// Service providers mintgate signs users in to as SAML identity provider.
    #[command(subcommand, name = "saml-app")]
    SamlApp(saml_app::SamlAppCommand),
    /// SCIM provisioning: an organisation's SCIM tokens.
    #[command(subcommand)]
    Scim(scim::ScimCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and (confidential clients) its secret, once.
    Create(Box<ClientCreate>),
    /// List clients.
    List,
    /// Delete a client and everything issued to it.
    Delete { id: String },
    /// Issue a new secret; the old one stops working at once.
    RotateSecret { id: String },
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    #[arg(long)]
    pub name: String,
    /// Repeatable. Matched exactly; loopback URIs match any port (RFC 8252 §7.3).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    pub public: bool,
    /// Repeatable. Default: openid profile email offline_access groups.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Repeatable. Default: authorization_code and refresh_token.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Repeatable.
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// First-party client: no consent page.
    #[arg(long)]
    pub skip_consent: bool,
    #[arg(long, default_value = "opaque", value_parser = ["opaque", "jwt"])]
    pub access_token_format: String,
    /// Access token lifetime in seconds (default 3600 opaque, 300 JWT).
    #[arg(long)]
    pub access_token_ttl: Option<i64>,
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub id_token_signed_response_alg: String,
    /// Issue a refresh token even without offline_access (bound to the session).
    #[arg(long)]
    pub always_issue_refresh: bool,
    /// Repeatable. An RFC 8707 resource (absolute URI, no fragment) the client may ask for as
    /// the `aud` of its access tokens. Default: only the configured api_audience.
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// The organisation (name or id) that owns the client: it admits only that organisation's
    /// members. Without: the operator's first-party client, for every organisation.
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; prints it once.
    Create {
        #[arg(long)]
        org: String,
        /// The member who owns it (its scopes are then limited to theirs).
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        name: String,
        /// Comma-separated, e.g. read:evaluations,ci
        #[arg(long)]
        scope: String,
        /// 30m, 24h, 7d, 90d (default) or never (not recommended).
        #[arg(long)]
        expires_in: Option<String>,
        /// Comma-separated CIDRs.
        #[arg(long)]
        allowed_ips: Option<String>,
    },
    /// List an organisation's keys.
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a key at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Publish a new key now; instances sign with it after the JWKS cache lifetime plus the
    /// key refresh interval, and the old key stays published until its tokens have expired.
    Rotate {
        #[arg(long, value_parser = ["RS256", "ES256", "EdDSA"])]
        alg: Vec<String>,
    },
    /// List keys with their activation and retirement times.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(UserCreate),
    /// List users.
    List,
    /// Disable a user: their sessions, tokens, API keys and pending sign-ins end at once, and
    /// stay ended when the user is enabled again.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Delete a user for good: sessions, tokens and memberships go, API keys are revoked.
    Delete { username: String },
}

#[derive(Debug, Args)]
pub struct UserCreate {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub display_name: Option<String>,
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long, default_value = "member", value_parser = ["owner", "admin", "member"])]
    pub role: String,
    /// Read the password from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,
}

fn open_store(settings: &Settings) -> Result<Store, CliFailure> {
    let store = Store::connect_on_demand(&settings.database_url())?;
    store.migrate_then(|_| Ok::<_, StoreError>(()))?;
    Ok(store)
}

fn print(json_mode: bool, value: serde_json::Value, human: String) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

pub fn run_admin(command: Command, settings: &Settings, json_mode: bool) -> Result<(), CliFailure> {
    let clock = SystemClock;
    let meta = RequestMeta {
        ip: None,
        user_agent: Some("mintgate-cli".into()),
        org: None,
    };
    match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::Migrate => {
            open_store(settings)?;
            print(
                json_mode,
                json!({"migrated": true}),
                "database is up to date".into(),
            );
        }
        Command::Org(command) => org::run_org(command, settings, json_mode, &meta)?,
        Command::Group(command) => org::run_group(command, settings, json_mode, &meta)?,
        Command::User(UserCommand::Create(args)) => {
            let password = if args.password_stdin {
                let mut line = String::new();
                std::io::stdin().read_to_string(&mut line)?;
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                Some(SecretString::from(line))
            } else {
                None
            };
            let store = open_store(settings)?;
            let hasher = PasswordHasher::new(1, 0);
            let role: Role = args.role.parse()?;
            let input = CreateUser {
                username: args.username,
                email: args.email,
                display_name: args.display_name,
                password,
                org: args.org,
                role,
            };
            let (user, org) = service::create_user(&store, &hasher, &clock, input, &meta).map_err(
                |e| match e {
                    // Bad input, like text the database cannot store (a NUL).
                    AccountError::Input(_) | AccountError::Store(StoreError::Unstorable) => {
                        CliFailure {
                            message: e.to_string(),
                            code: 2,
                        }
                    }
                    other => other.into(),
                },
            )?;
            print(
                json_mode,
                json!({"id": user.id, "username": user.username, "email": user.email,
                       "org": org.as_ref().map(|o| &o.name), "role": org.as_ref().map(|_| role)}),
                format!("created user {} ({})", user.username, user.id),
            );
        }
        Command::User(UserCommand::List) => {
            let store = open_store(settings)?;
            let users = store.list_users()?;
            let human = users
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        u.id,
                        u.username,
                        u.email,
                        if u.disabled { "disabled" } else { "active" },
                        rfc3339(u.created_at)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(users), human);
        }
        Command::Client(command) => client_command(command, settings, json_mode)?,
        Command::Auth(command) => auth::run(command, settings.server.issuer_str(), json_mode)?,
        Command::ApiKey(command) => api_key_command(command, settings, json_mode)?,
        Command::SigningKey(command) => signing_key_command(command, settings, json_mode)?,
        Command::Sso(command) => sso::run(command, settings, json_mode)?,
        Command::SamlApp(command) => saml_app::run(command, settings, json_mode)?,
        Command::Scim(command) => scim::run(command, settings, json_mode)?,
        Command::User(UserCommand::Disable { username }) => {
            let store = open_store(settings)?;
            let user = service::user_named(&store, &username)?;
            let ended = deprovision::disable(&store, &clock, &user, None, &meta)?;
            let user = User {
                disabled: true,
                ..user
            };
            print(
                json_mode,
                json!(user),
                format!("disabled user {} ({})", user.username, ended.summary()),
            );
        }
        Command::User(UserCommand::Delete { username }) => {
            let store = open_store(settings)?;
            let user = service::delete_user(&store, &clock, &username, &meta)?;
            print(
                json_mode,
                json!({"deleted": user.id}),
                format!("deleted user {}", user.username),
            );
        }
        Command::User(UserCommand::Enable { username }) => {
            let store = open_store(settings)?;
            let user = service::user_named(&store, &username)?;
            deprovision::enable(&store, &clock, &user, None, &meta)?;
            let user = User {
                disabled: false,
                ..user
            };
            print(
                json_mode,
                json!(user),
                format!("enabled user {}", user.username),
            );
        }
    }
    Ok(())
}

fn client_command(
    command: ClientCommand,
    settings: &Settings,
    json_mode: bool,
) -> Result<(), CliFailure> {
    use crate::oauth::clients::{self, NewClient};
    use crate::oauth::store::ClientStore;
    let store = open_store(settings)?;
    let invalid = |e: clients::ClientError| match e {
        clients::ClientError::Invalid(_) | clients::ClientError::Store(StoreError::Unstorable) => {
            CliFailure {
                message: e.to_string(),
                code: 2,
            }
        }
        other => other.into(),
    };
    match command {
        ClientCommand::Create(a) => {
            let org_id = match &a.org {
                Some(name) => Some(
                    crate::oauth::tenancy::asked_org(&store, Some(name))?.ok_or_else(|| {
                        CliFailure {
                            message: format!("no organisation named `{name}`"),
                            code: 1,
                        }
                    })?,
                ),
                None => None,
            };
            let input = NewClient {
                org_id,
                name: a.name,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                public: a.public,
                scopes: (!a.scopes.is_empty()).then(|| a.scopes.join(" ")),
                grant_types: a.grant_types,
                skip_consent: a.skip_consent,
                access_token_format: a.access_token_format.parse().map_err(|_| CliFailure {
                    message: "bad format".into(),
                    code: 2,
                })?,
                access_token_ttl: a.access_token_ttl,
                id_token_alg: a.id_token_signed_response_alg.parse()?,
                always_issue_refresh: a.always_issue_refresh,
                resources: a.resources,
                id: None,
            };
            let (client, secret) = clients::create(&store, &SystemClock, input).map_err(invalid)?;
            let secret = secret.as_ref().map(|s| s.expose_secret().to_owned());
            let human = match &secret {
                Some(s) => format!(
                    "client_id:     {}\nclient_secret: {s}\n(the secret is shown once)",
                    client.id
                ),
                None => format!("client_id: {} (public client: use PKCE)", client.id),
            };
            let mut value = json!({"client_id": client.id});
            if let Some(s) = secret {
                value["client_secret"] = s.into();
            }
            print(json_mode, value, human);
        }
        ClientCommand::List => {
            let list = store.list_clients()?;
            let human = list
                .iter()
                .map(|c| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.name,
                        c.org_id.as_ref().map_or("operator", |o| o.as_str()),
                        if c.is_public() {
                            "public"
                        } else {
                            "confidential"
                        },
                        c.redirect_uris.join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(list), human);
        }
        ClientCommand::Delete { id } => {
            if !store.delete_client(&ClientId::new(id.as_str()))? {
                return Err(CliFailure {
                    message: format!("no client with id `{id}`"),
                    code: 1,
                });
            }
            print(
                json_mode,
                json!({"deleted": id}),
                format!("deleted client {id}"),
            );
        }
        ClientCommand::RotateSecret { id } => {
            let secret = clients::rotate_secret(&store, &ClientId::new(id.as_str()))?;
            print(
                json_mode,
                json!({"client_id": id, "client_secret": secret.expose_secret()}),
                format!(
                    "client_secret: {}\n(the old secret no longer works)",
                    secret.expose_secret()
                ),
            );
        }
    }
    Ok(())
}

fn signing_key_command(
    command: SigningKeyCommand,
    settings: &Settings,
    json_mode: bool,
) -> Result<(), CliFailure> {
    use crate::signing::store::SigningKeyStore;
    use crate::signing::{self, SigningAlg};
    let store = open_store(settings)?;
    match command {
        SigningKeyCommand::Rotate { alg } => {
            let secrets = crate::secrets::SecretBox::load_or_create(&settings.secrets_key_file())?;
            let algs: Vec<SigningAlg> = if alg.is_empty() {
                SigningAlg::ALL.to_vec()
            } else {
                alg.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
            };
            let now = chrono::Utc::now().timestamp();
            let (active_from, published_until) = signing::rotation_times(now);
            let mut out = Vec::new();
            for alg in algs {
                let key = signing::generate(alg, &secrets, now, active_from)?;
                store.rotate_signing_key(&key, published_until)?;
                out.push(json!({"kid": key.kid, "alg": alg.as_str(), "active_from": rfc3339(active_from)}));
            }
            let human = out
                .iter()
                .map(|k| {
                    format!(
                        "new {} key {} is published now and signs from {}",
                        k["alg"], k["kid"], k["active_from"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(out), human);
        }
        SigningKeyCommand::List => {
            let list = store.list_signing_keys()?;
            let rows: Vec<_> = list
                .iter()
                .map(|k| json!({"kid": k.kid, "alg": k.alg.as_str(), "active_from": rfc3339(k.active_from),
                                "retired_at": k.retired_at.map(rfc3339), "published_until": k.published_until.map(rfc3339)}))
                .collect();
            let human = rows
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(rows), human);
        }
    }
    Ok(())
}

fn api_key_command(
    command: ApiKeyCommand,
    settings: &Settings,
    json_mode: bool,
) -> Result<(), CliFailure> {
    use crate::accounts::store::OrgStore;
    use crate::apikeys::service::{self, KeyFormat, NewKey};
    use crate::apikeys::store::ApiKeyStore;
    let store = open_store(settings)?;
    let format = KeyFormat::from(&settings.api_keys);
    let now = chrono::Utc::now().timestamp();
    let find_org = |name: &str| -> Result<crate::accounts::types::Organisation, CliFailure> {
        store
            .find_org(&name.trim().to_lowercase())?
            .ok_or_else(|| CliFailure {
                message: format!("no organisation named `{name}`"),
                code: 1,
            })
    };
    match command {
        ApiKeyCommand::Create {
            org,
            user,
            name,
            scope,
            expires_in,
            allowed_ips,
        } => {
            let org = find_org(&org)?;
            let user_id = match user {
                Some(u) => Some(
                    store
                        .find_user_by_username(&u.to_lowercase())?
                        .ok_or_else(|| CliFailure {
                            message: format!("no user named `{u}`"),
                            code: 1,
                        })?
                        .id,
                ),
                None => None,
            };
            let input = NewKey {
                name,
                scopes: scope
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                expires_in,
                allowed_ips: allowed_ips.into_iter().collect(),
            };
            let (key, secret) =
                service::create_for_operator(&store, &format, &org, user_id.as_ref(), input, now)
                    .map_err(|e| match e {
                    service::ApiKeyError::Validation(m) => CliFailure {
                        message: m.to_string(),
                        code: 2,
                    },
                    other => other.into(),
                })?;
            let view =
                crate::v1::http::KeyView::new(&key, Some(secret.expose_secret().to_owned()), now);
            let never = if key.expires_at.is_none() {
                "\n(never expires: not recommended; rotate it regularly)"
            } else {
                ""
            };
            print(
                json_mode,
                json!(view),
                format!(
                    "{}\t{}\n{}\n(the key is shown once){never}",
                    key.id,
                    key.name,
                    secret.expose_secret()
                ),
            );
        }
        ApiKeyCommand::List { org } => {
            let org = find_org(&org)?;
            let keys = store.list_api_keys(&org.id)?;
            let views: Vec<_> = keys
                .iter()
                .map(|k| crate::v1::http::KeyView::new(k, None, now))
                .collect();
            let human = views
                .iter()
                .map(|v| {
                    format!(
                        "{}\t{}\t{}\t{}\texpires {}{}",
                        v.id,
                        v.name,
                        v.scopes.join(","),
                        v.hint,
                        v.expires_at.clone().unwrap_or_else(|| "never".into()),
                        if v.rotation_recommended {
                            "\tolder than 90 days: rotate"
                        } else {
                            ""
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(views), human);
        }
        ApiKeyCommand::Revoke { id } => {
            if !store.revoke_api_key(&KeyId::new(id.as_str()), now)? {
                return Err(CliFailure {
                    message: format!("no active key `{id}`"),
                    code: 1,
                });
            }
            print(json_mode, json!({"revoked": id}), format!("revoked {id}"));
        }
    }
    Ok(())
}
