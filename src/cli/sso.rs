//! `mintgate sso ...` (an organisation's SSO connections) and the domain commands of
//! `mintgate org` (`add-domain`, `verify-domain`), and `org set --require-sso`.

use std::io::Read;

use clap::Subcommand;
use secrecy::SecretString;
use serde_json::json;

use super::{CliFailure, open_store, print};
use crate::accounts::store::OrgStore;
use crate::accounts::types::Organisation;
use crate::audit::RequestMeta;
use crate::clock::{SystemClock, rfc3339};
use crate::config::Settings;
use crate::federation::connections::{self, MappingOverrides, NewOidc, NewSaml};
use crate::federation::domains;
use crate::federation::error::FederationError;
use crate::federation::policy;
use crate::federation::types::{Connection, Protocol};
use crate::ids::ConnectionId;
use crate::store::{Store, StoreError};
use crate::web::paths::{OIDC_CALLBACK, SAML_ACS, SAML_SP_METADATA};

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Add an OpenID Connect connection; prints its id and the callback URL to register at the
    /// IdP. The client secret is read from standard input.
    AddOidc {
        #[arg(long)]
        org: String,
        /// The upstream issuer (`https://`, or `http://` on a loopback address).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input (one line).
        #[arg(long)]
        client_secret_stdin: bool,
        /// Shown on the settings page (default: the issuer's host).
        #[arg(long)]
        name: Option<String>,
        /// Claim names to start from.
        #[arg(long, value_parser = ["default", "okta", "entra"])]
        preset: Option<String>,
        /// Override the claim the e-mail address comes from.
        #[arg(long)]
        email_claim: Option<String>,
        #[arg(long)]
        name_claim: Option<String>,
        #[arg(long)]
        username_claim: Option<String>,
        #[arg(long)]
        groups_claim: Option<String>,
    },
    /// Add a SAML 2.0 connection from the IdP's metadata XML; prints its id and our SP
    /// metadata URL, ACS URL and entity ID to give the IdP.
    AddSaml {
        #[arg(long)]
        org: String,
        /// The IdP's metadata XML file (`-` for standard input).
        #[arg(long)]
        metadata: String,
        /// Shown on the settings page (default: the IdP entity ID's host).
        #[arg(long)]
        name: Option<String>,
        /// Attribute names to start from.
        #[arg(long, value_parser = ["default", "okta", "entra", "google"])]
        preset: Option<String>,
        /// Accept sign-ins started at the IdP (unsolicited Responses; off by default).
        #[arg(long)]
        allow_idp_initiated: bool,
        #[arg(long)]
        email_attribute: Option<String>,
        #[arg(long)]
        name_attribute: Option<String>,
        #[arg(long)]
        username_attribute: Option<String>,
        #[arg(long)]
        groups_attribute: Option<String>,
    },
    /// List an organisation's connections.
    List {
        #[arg(long)]
        org: String,
    },
    /// Disable a connection: it routes and signs in nobody until enabled again.
    Disable {
        #[arg(long)]
        org: String,
        id: String,
    },
    Enable {
        #[arg(long)]
        org: String,
        id: String,
    },
    /// Delete a connection and the external identities linked through it (users stay).
    Delete {
        #[arg(long)]
        org: String,
        id: String,
    },
}

/// The operator's domain commands (variants of `mintgate org`).
#[derive(Debug)]
pub enum DomainCommand {
    Add { org: String, domain: String },
    Verify { org: String, domain: String },
}

fn meta() -> RequestMeta {
    RequestMeta {
        ip: None,
        user_agent: Some("mintgate-cli".into()),
        org: None,
    }
}

fn find_org(store: &Store, name: &str) -> Result<Organisation, CliFailure> {
    store
        .find_org(&name.trim().to_lowercase())?
        .ok_or_else(|| CliFailure {
            message: format!("no organisation named `{name}`"),
            code: 1,
        })
}

fn failure(e: FederationError) -> CliFailure {
    let code = match e {
        FederationError::Invalid(_) | FederationError::Store(StoreError::Unstorable) => 2,
        _ => 1,
    };
    CliFailure {
        message: e.to_string(),
        code,
    }
}

/// The URL to register at the IdP for `connection`.
pub fn callback_url(settings: &Settings, connection: &ConnectionId) -> String {
    settings
        .server
        .url_for(&OIDC_CALLBACK.replace("{connection}", connection.as_str()))
}

/// Our SP metadata URL (also our entity ID) and ACS URL for a SAML connection.
pub fn saml_urls(settings: &Settings, connection: &ConnectionId) -> (String, String) {
    let server = &settings.server;
    (
        server.url_for(&SAML_SP_METADATA.replace("{connection}", connection.as_str())),
        server.url_for(&SAML_ACS.replace("{connection}", connection.as_str())),
    )
}

fn describe(settings: &Settings, c: &Connection) -> serde_json::Value {
    match &c.protocol {
        Protocol::Oidc(oidc) => json!({
            "id": c.id, "name": c.name, "kind": c.protocol.kind(), "enabled": c.enabled,
            "issuer": oidc.issuer, "client_id": oidc.client_id,
            "mapping": {"email": oidc.mapping.email, "name": oidc.mapping.name,
                        "username": oidc.mapping.username, "groups": oidc.mapping.groups},
            "callback_url": callback_url(settings, &c.id), "created_at": rfc3339(c.created_at),
        }),
        Protocol::Saml(saml) => json!({
            "id": c.id, "name": c.name, "kind": c.protocol.kind(), "enabled": c.enabled,
            "idp_entity_id": saml.idp_entity_id, "sso_url": saml.sso_url,
            "allow_idp_initiated": saml.allow_idp_initiated,
            "metadata_url": saml_urls(settings, &c.id).0, "entity_id": saml_urls(settings, &c.id).0,
            "acs_url": saml_urls(settings, &c.id).1,
            "mapping": {"email": saml.mapping.email, "name": saml.mapping.name,
                        "username": saml.mapping.username, "groups": saml.mapping.groups},
            "created_at": rfc3339(c.created_at),
        }),
    }
}

pub fn run(command: SsoCommand, settings: &Settings, json_mode: bool) -> Result<(), CliFailure> {
    let store = open_store(settings)?;
    let clock = SystemClock;
    let meta = meta();
    match command {
        SsoCommand::AddOidc {
            org,
            issuer,
            client_id,
            client_secret_stdin,
            name,
            preset,
            email_claim,
            name_claim,
            username_claim,
            groups_claim,
        } => {
            let org = find_org(&store, &org)?;
            let client_secret = if client_secret_stdin {
                let mut line = String::new();
                std::io::stdin().read_to_string(&mut line)?;
                Some(SecretString::from(
                    line.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            } else {
                None
            };
            let secrets = crate::secrets::SecretBox::load_or_create(&settings.secrets_key_file())?;
            let input = NewOidc {
                name,
                issuer,
                client_id,
                client_secret,
                preset: preset
                    .as_deref()
                    .unwrap_or("default")
                    .parse()
                    .map_err(failure)?,
                overrides: MappingOverrides {
                    email: email_claim,
                    name: name_claim,
                    username: username_claim,
                    groups: groups_claim,
                },
            };
            let c = connections::add_oidc(&store, &secrets, &clock, &org.id, input, None, &meta)
                .map_err(failure)?;
            let url = callback_url(settings, &c.id);
            print(
                json_mode,
                json!({"id": c.id, "callback_url": url}),
                format!(
                    "added connection {} ({}) to {}\nregister this redirect URI at the IdP: {url}",
                    c.name, c.id, org.name
                ),
            );
        }
        SsoCommand::AddSaml {
            org,
            metadata,
            name,
            preset,
            allow_idp_initiated,
            email_attribute,
            name_attribute,
            username_attribute,
            groups_attribute,
        } => {
            let org = find_org(&store, &org)?;
            let xml = if metadata == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .take(crate::saml::bindings::MAX_MESSAGE_BYTES as u64 + 1)
                    .read_to_string(&mut text)?;
                text
            } else {
                std::fs::read_to_string(&metadata).map_err(|e| CliFailure {
                    message: format!("cannot read {metadata}: {e}"),
                    code: 2,
                })?
            };
            let secrets = crate::secrets::SecretBox::load_or_create(&settings.secrets_key_file())?;
            let input = NewSaml {
                name,
                metadata: xml,
                preset: preset
                    .as_deref()
                    .unwrap_or("default")
                    .parse()
                    .map_err(failure)?,
                overrides: MappingOverrides {
                    email: email_attribute,
                    name: name_attribute,
                    username: username_attribute,
                    groups: groups_attribute,
                },
                allow_idp_initiated,
            };
            let c = connections::add_saml(&store, &secrets, &clock, &org.id, input, None, &meta)
                .map_err(failure)?;
            let (metadata_url, acs_url) = saml_urls(settings, &c.id);
            print(
                json_mode,
                json!({"id": c.id, "metadata_url": metadata_url, "acs_url": acs_url,
                       "entity_id": metadata_url}),
                format!(
                    "added SAML connection {} ({}) to {}\ngive the IdP our SP metadata: {metadata_url}\n(entity ID {metadata_url}, ACS URL {acs_url})",
                    c.name, c.id, org.name
                ),
            );
        }
        SsoCommand::List { org } => {
            let org = find_org(&store, &org)?;
            let list = connections::list(&store, &org.id).map_err(failure)?;
            let human = list
                .iter()
                .map(|c| {
                    let upstream = match &c.protocol {
                        Protocol::Oidc(oidc) => &oidc.issuer,
                        Protocol::Saml(saml) => &saml.idp_entity_id,
                    };
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.protocol.kind(),
                        if c.enabled { "enabled" } else { "disabled" },
                        c.name,
                        upstream
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let rows: Vec<_> = list.iter().map(|c| describe(settings, c)).collect();
            print(json_mode, json!(rows), human);
        }
        SsoCommand::Disable { org, id } => {
            set_enabled(settings, &store, json_mode, &org, id, false)?
        }
        SsoCommand::Enable { org, id } => set_enabled(settings, &store, json_mode, &org, id, true)?,
        SsoCommand::Delete { org, id } => {
            let org = find_org(&store, &org)?;
            let c =
                connections::delete(&store, &clock, &org.id, &ConnectionId::new(id), None, &meta)
                    .map_err(failure)?;
            print(
                json_mode,
                json!({"deleted": c.id}),
                format!("deleted connection {} ({})", c.name, c.id),
            );
        }
    }
    Ok(())
}

fn set_enabled(
    settings: &Settings,
    store: &Store,
    json_mode: bool,
    org: &str,
    id: String,
    enabled: bool,
) -> Result<(), CliFailure> {
    let org = find_org(store, org)?;
    let c = connections::set_enabled(
        store,
        &SystemClock,
        &org.id,
        &ConnectionId::new(id),
        enabled,
        None,
        &meta(),
    )
    .map_err(failure)?;
    print(
        json_mode,
        describe(settings, &c),
        format!(
            "{} connection {} ({})",
            if enabled { "enabled" } else { "disabled" },
            c.name,
            c.id
        ),
    );
    Ok(())
}

pub fn domain(
    command: DomainCommand,
    settings: &Settings,
    json_mode: bool,
) -> Result<(), CliFailure> {
    let store = open_store(settings)?;
    let clock = SystemClock;
    let meta = meta();
    match command {
        DomainCommand::Add { org, domain } => {
            let org = find_org(&store, &org)?;
            let d =
                domains::claim(&store, &clock, &org.id, &domain, None, &meta).map_err(failure)?;
            let name = domains::challenge_name(&d.domain);
            print(
                json_mode,
                json!({"domain": d.domain, "verified": d.verified_at.is_some(),
                       "txt_name": name, "txt_value": d.challenge}),
                format!(
                    "{} claimed by {}{}\ncreate this DNS record, then verify it from Settings > Security > SSO:\n{name}. TXT \"{}\"",
                    d.domain,
                    org.name,
                    if d.verified_at.is_some() {
                        " (verified)"
                    } else {
                        ""
                    },
                    d.challenge
                ),
            );
        }
        DomainCommand::Verify { org, domain } => {
            let org = find_org(&store, &org)?;
            let d = domains::verify_by_operator(&store, &clock, &org.id, &domain, &meta)
                .map_err(failure)?;
            print(
                json_mode,
                json!({"domain": d.domain, "org": org.name, "verified": true}),
                format!("{} is verified for {}", d.domain, org.name),
            );
        }
    }
    Ok(())
}

/// `mintgate org set O --require-sso true|false`.
pub fn set_require_sso(store: &Store, org: &Organisation, require: bool) -> Result<(), CliFailure> {
    policy::set_require_sso(
        store,
        &SystemClock,
        &org.id,
        &org.name,
        require,
        None,
        &meta(),
    )
    .map_err(failure)
}
