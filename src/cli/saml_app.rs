//! `mintgate saml-app ...`: the service providers mintgate signs users in to as SAML IdP.

use clap::Subcommand;
use serde_json::json;

use super::{CliFailure, open_store, print};
use crate::accounts::store::OrgStore;
use crate::clock::{SystemClock, rfc3339};
use crate::config::Settings;
use crate::ids::SamlAppId;
use crate::saml_idp::apps::{self, NewApp};
use crate::saml_idp::error::SamlIdpError;
use crate::saml_idp::metadata;
use crate::saml_idp::store::SamlAppStore;
use crate::saml_idp::types::SamlApp;
use crate::store::{Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum SamlAppCommand {
    /// Register a service provider: by entity ID and ACS URL, or from its metadata file (which
    /// also gives the certificate its AuthnRequests must then be signed with).
    Add {
        /// The organisation whose members may use it (default: every user: an operator app).
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        entity_id: Option<String>,
        /// Where the Response is posted (`https://`, or `http://` on a loopback address).
        #[arg(long)]
        acs_url: Option<String>,
        /// The SP's metadata (XML file).
        #[arg(long)]
        metadata: Option<std::path::PathBuf>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["email", "persistent"])]
        nameid: Option<String>,
    },
    /// List the apps (of one organisation with --org).
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Delete an app.
    Delete { id: String },
}

fn failure(e: SamlIdpError) -> CliFailure {
    let code = match e {
        SamlIdpError::Invalid(_)
        | SamlIdpError::EntityIdTaken
        | SamlIdpError::Store(StoreError::Unstorable) => 2,
        _ => 1,
    };
    CliFailure {
        message: e.to_string(),
        code,
    }
}

fn org_id(store: &Store, name: &str) -> Result<crate::ids::OrgId, CliFailure> {
    Ok(store
        .find_org(&name.trim().to_lowercase())?
        .ok_or_else(|| CliFailure {
            message: format!("no organisation named `{name}`"),
            code: 1,
        })?
        .id)
}

fn describe(app: &SamlApp) -> serde_json::Value {
    json!({
        "id": app.id, "org_id": app.org_id, "name": app.name, "entity_id": app.entity_id,
        "acs_url": app.acs_url, "extra_acs_urls": app.config.extra_acs_urls,
        "nameid_format": app.nameid_format.as_str(),
        "signed_requests": app.config.signing_cert.is_some(),
        "created_at": rfc3339(app.created_at),
    })
}

pub fn run(
    command: SamlAppCommand,
    settings: &Settings,
    json_mode: bool,
) -> Result<(), CliFailure> {
    let store = open_store(settings)?;
    match command {
        SamlAppCommand::Add {
            org,
            entity_id,
            acs_url,
            metadata: metadata_file,
            name,
            nameid,
        } => {
            let org_id = org.as_deref().map(|o| org_id(&store, o)).transpose()?;
            let metadata_xml = metadata_file.map(std::fs::read_to_string).transpose()?;
            let app = apps::add(
                &store,
                &SystemClock,
                NewApp {
                    org_id,
                    name,
                    entity_id,
                    acs_url,
                    metadata: metadata_xml,
                    nameid_format: nameid,
                },
            )
            .map_err(failure)?;
            let idp = metadata::entity_id(settings.server.issuer_str());
            print(
                json_mode,
                json!({"id": app.id, "entity_id": app.entity_id, "idp_metadata": idp}),
                format!(
                    "added SAML app {} ({})\nthe IdP metadata for the app: {idp}",
                    app.name, app.id
                ),
            );
        }
        SamlAppCommand::List { org } => {
            let list = match org {
                Some(o) => store.list_saml_apps(Some(&org_id(&store, &o)?))?,
                None => store.list_all_saml_apps()?,
            };
            let human = list
                .iter()
                .map(|a| format!("{}  {}  {}  {}", a.id, a.entity_id, a.acs_url, a.name))
                .collect::<Vec<_>>()
                .join("\n");
            print(
                json_mode,
                json!(list.iter().map(describe).collect::<Vec<_>>()),
                human,
            );
        }
        SamlAppCommand::Delete { id } => {
            if !store.delete_any_saml_app(&SamlAppId::new(id.trim()))? {
                return Err(CliFailure {
                    message: format!("no SAML app `{id}`"),
                    code: 1,
                });
            }
            print(json_mode, json!({"deleted": id}), format!("deleted {id}"));
        }
    }
    Ok(())
}
