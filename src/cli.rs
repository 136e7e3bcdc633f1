//! The command line: `serve` (the default) and the operator commands, which work directly on
//! the configured database. Human output by default, `--json` for scripts.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use serde_json::json;

use crate::accounts::password::PasswordHasher;
use crate::accounts::service::{self, AccountError, CreateUser};
use crate::accounts::types::Role;
use crate::audit::RequestMeta;
use crate::clock::{SystemClock, rfc3339};
use crate::config::Settings;
use crate::store::{Store, UserStore};

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
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create { name: String },
    /// List organisations.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(UserCreate),
    /// List users.
    List,
    /// Disable a user: their sessions stop working at once.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
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

/// A failed command: the message for the operator and the exit code.
#[derive(Debug)]
pub struct CliFailure {
    pub message: String,
    pub code: u8,
}

impl<E: std::fmt::Display> From<E> for CliFailure {
    fn from(e: E) -> Self {
        CliFailure {
            message: e.to_string(),
            code: 1,
        }
    }
}

fn open_store(settings: &Settings) -> Result<Store, CliFailure> {
    let store = Store::connect(&settings.database_url(), 2)?;
    store.migrate_then(|_| Ok(()))?;
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
        Command::Org(OrgCommand::Create { name }) => {
            let store = open_store(settings)?;
            let org = service::create_org(&store, &clock, &name)?;
            print(
                json_mode,
                json!({"id": org.id, "name": org.name}),
                format!("created organisation {} ({})", org.name, org.id),
            );
        }
        Command::Org(OrgCommand::List) => {
            let store = open_store(settings)?;
            let orgs = crate::store::OrgStore::list_orgs(&store)?;
            let human = orgs
                .iter()
                .map(|o| format!("{}\t{}", o.id, o.name))
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(orgs), human);
        }
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
                    AccountError::Input(_) => CliFailure {
                        message: e.to_string(),
                        code: 2,
                    },
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
        Command::User(UserCommand::Disable { username }) => {
            let store = open_store(settings)?;
            let user = service::set_disabled(&store, &clock, &username, true, &meta)?;
            print(
                json_mode,
                json!(user),
                format!("disabled user {}", user.username),
            );
        }
        Command::User(UserCommand::Enable { username }) => {
            let store = open_store(settings)?;
            let user = service::set_disabled(&store, &clock, &username, false, &meta)?;
            print(
                json_mode,
                json!(user),
                format!("enabled user {}", user.username),
            );
        }
    }
    Ok(())
}
