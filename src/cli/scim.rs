//! `mintgate scim token create|list|revoke --org O`: an organisation's SCIM tokens, for the
//! operator (the same service as Settings > Security > SCIM).

use clap::Subcommand;
use serde_json::json;

use super::{CliFailure, open_store, print};
use crate::accounts::service::org_named;
use crate::audit::RequestMeta;
use crate::clock::{SystemClock, rfc3339};
use crate::config::Settings;
use crate::scim::service;
use crate::scim::store::ScimTokenStore;

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// SCIM bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once (`{"token": "..."}` with --json).
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "SCIM")]
        description: String,
    },
    /// List an organisation's tokens (never their values).
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        #[arg(long)]
        org: String,
        id: String,
    },
}

pub fn run(command: ScimCommand, settings: &Settings, json_mode: bool) -> Result<(), CliFailure> {
    let store = open_store(settings)?;
    let clock = SystemClock;
    let meta = RequestMeta {
        ip: None,
        user_agent: Some("mintgate-cli".into()),
        org: None,
    };
    let ScimCommand::Token(command) = command;
    match command {
        TokenCommand::Create { org, description } => {
            let org = org_named(&store, &org)?;
            let (token, plain) =
                service::create_token(&store, &clock, &org.id, &description, None, &meta)?;
            print(
                json_mode,
                json!({"token": plain.expose(), "id": token.id, "org": org.name}),
                format!(
                    "created SCIM token {} for {} (shown once):\n{}",
                    token.id,
                    org.name,
                    plain.expose()
                ),
            );
        }
        TokenCommand::List { org } => {
            let org = org_named(&store, &org)?;
            let tokens = store.list_scim_tokens(&org.id)?;
            let human = tokens
                .iter()
                .map(|t| {
                    format!(
                        "{}  {}  created {}{}",
                        t.id,
                        t.description,
                        rfc3339(t.created_at),
                        t.revoked_at
                            .map(|r| format!("  revoked {}", rfc3339(r)))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(tokens), human);
        }
        TokenCommand::Revoke { org, id } => {
            let org = org_named(&store, &org)?;
            if !service::revoke_token(&store, &clock, &org.id, &id, None, &meta)? {
                return Err(CliFailure {
                    message: format!("no live SCIM token `{id}` in {}", org.name),
                    code: 1,
                });
            }
            print(json_mode, json!({"revoked": id}), format!("revoked {id}"));
        }
    }
    Ok(())
}
