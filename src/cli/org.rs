//! `mintgate org …` and `mintgate group …`: organisations, their members and their groups.

use serde_json::json;

use super::{CliFailure, open_store, print, sso};
use crate::accounts::members::{self, MemberChange};
use crate::accounts::types::Role;
use crate::accounts::{policy, service};
use crate::audit::RequestMeta;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::deprovision;

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create { name: String },
    /// List organisations.
    List,
    /// Set an organisation's API key policy and whether it requires a second factor.
    Set {
        name: String,
        /// Longest key lifetime here (`90d`, `12h`…), or `none` for the global limit only.
        #[arg(long)]
        api_key_max_lifetime: Option<String>,
        /// Accept the legacy `?api_key=` query parameter for this organisation's keys.
        #[arg(long)]
        api_key_legacy_query: Option<bool>,
        /// Require a second factor of members: those without one enrol at their next sign-in,
        /// and no token is issued to a session without one.
        #[arg(long)]
        require_mfa: Option<bool>,
        /// Require SSO of members: they cannot sign in with a password (owners still can,
        /// audited as break-glass).
        #[arg(long)]
        require_sso: Option<bool>,
    },
    /// Claim an e-mail domain for an organisation; prints the DNS TXT record that verifies it.
    AddDomain {
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// Verify an organisation's domain without DNS (claiming it first when needed).
    VerifyDomain {
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// Make a user a member of an organisation, or change their role there.
    AddMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "member", value_parser = ["owner", "admin", "member"])]
        role: String,
    },
    /// Remove a user from an organisation: their keys, sessions, grants and pending sign-ins
    /// there end at once (a managed account is disabled).
    RemoveMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Create a group in an organisation.
    Create {
        #[arg(long)]
        org: String,
        name: String,
    },
    /// Add a member of the organisation to one of its groups.
    AddMember {
        #[arg(long)]
        org: String,
        group: String,
        user: String,
    },
}

pub fn run_org(
    command: OrgCommand,
    settings: &Settings,
    json_mode: bool,
    meta: &RequestMeta,
) -> Result<(), CliFailure> {
    let clock = SystemClock;
    let meta = meta.clone();
    match command {
        OrgCommand::Create { name } => {
            let store = open_store(settings)?;
            let org = service::create_org(&store, &clock, &name)?;
            print(
                json_mode,
                json!({"id": org.id, "name": org.name}),
                format!("created organisation {} ({})", org.name, org.id),
            );
        }
        OrgCommand::Set {
            name,
            api_key_max_lifetime,
            api_key_legacy_query,
            require_mfa,
            require_sso,
        } => {
            use crate::accounts::store::OrgStore;
            let store = open_store(settings)?;
            let org = store
                .find_org(&name.trim().to_lowercase())?
                .ok_or_else(|| CliFailure {
                    message: format!("no organisation named `{name}`"),
                    code: 1,
                })?;
            // The Policies page's rule and writer (audited as `org.policy.set`).
            let max = match api_key_max_lifetime.as_deref() {
                None => org.api_key_max_lifetime,
                Some(d) => policy::parse_key_lifetime(d)
                    .map_err(|message| CliFailure { message, code: 2 })?,
            };
            let legacy = api_key_legacy_query.unwrap_or(org.api_key_legacy_query);
            let org = policy::set_policy(
                &store,
                &clock,
                &org,
                &policy::OrgPolicy {
                    api_key_max_lifetime: max,
                    api_key_legacy_query: legacy,
                    ..policy::OrgPolicy::of(&org)
                },
                None,
                &meta,
            )?;
            let org = match require_mfa {
                Some(require) if require != org.require_mfa => {
                    service::set_require_mfa(&store, &clock, &org, require, None, &meta)?
                }
                _ => org,
            };
            if let Some(require) = require_sso {
                sso::set_require_sso(&store, &org, require)?;
            }
            print(
                json_mode,
                json!({"name": org.name, "api_key_max_lifetime": max, "api_key_legacy_query": legacy,
                           "require_mfa": org.require_mfa, "require_sso": require_sso}),
                format!(
                    "{}: API keys live at most {}; ?api_key= {}; second factor {}",
                    org.name,
                    max.map(|s| format!("{} days", s / 86_400))
                        .unwrap_or_else(|| "as long as the global limit allows".into()),
                    if legacy {
                        "accepted (deprecated)"
                    } else {
                        "refused"
                    },
                    if org.require_mfa {
                        "required"
                    } else {
                        "optional"
                    }
                ),
            );
        }
        OrgCommand::List => {
            let store = open_store(settings)?;
            let orgs = crate::accounts::store::OrgStore::list_orgs(&store)?;
            let human = orgs
                .iter()
                .map(|o| format!("{}\t{}", o.id, o.name))
                .collect::<Vec<_>>()
                .join("\n");
            print(json_mode, json!(orgs), human);
        }
        OrgCommand::RemoveMember { org, user } => {
            let store = open_store(settings)?;
            let org = service::org_named(&store, &org)?;
            let user = service::user_named(&store, &user)?;
            let ended = deprovision::remove_from_org(&store, &clock, &org, &user, None, &meta)?;
            print(
                json_mode,
                json!({"removed": user.id, "org": org.name, "ended": ended}),
                format!(
                    "removed {} from {} ({})",
                    user.username,
                    org.name,
                    ended.summary()
                ),
            );
        }
        OrgCommand::AddDomain { org, domain } => {
            sso::domain(sso::DomainCommand::Add { org, domain }, settings, json_mode)?
        }
        OrgCommand::VerifyDomain { org, domain } => sso::domain(
            sso::DomainCommand::Verify { org, domain },
            settings,
            json_mode,
        )?,
        OrgCommand::AddMember { org, user, role } => {
            let role: Role = role.parse()?;
            let store = open_store(settings)?;
            let (user, org, change) =
                members::add_member(&store, &clock, &org, &user, role, &meta)?;
            let what = match change {
                MemberChange::Added => "added",
                MemberChange::RoleChanged { .. } => "role_changed",
                MemberChange::Unchanged => "unchanged",
            };
            print(
                json_mode,
                json!({"user": user.id, "org": org.id, "org_name": org.name, "role": role.as_str(), "change": what}),
                format!("{} is {} of {} ({what})", user.username, role, org.name),
            );
        }
    }
    Ok(())
}

pub fn run_group(
    command: GroupCommand,
    settings: &Settings,
    json_mode: bool,
    meta: &RequestMeta,
) -> Result<(), CliFailure> {
    let clock = SystemClock;
    let store = open_store(settings)?;
    match command {
        GroupCommand::Create { org, name } => {
            let (id, org) = members::create_group(&store, &clock, &org, &name, meta)?;
            print(
                json_mode,
                json!({"id": id, "name": name.trim(), "org": org.id}),
                format!("created group {} in {} ({id})", name.trim(), org.name),
            );
        }
        GroupCommand::AddMember { org, group, user } => {
            let (id, user) = members::add_group_member(&store, &clock, &org, &group, &user, meta)?;
            print(
                json_mode,
                json!({"group": id, "user": user.id}),
                format!("added {} to {}", user.username, group.trim()),
            );
        }
    }
    Ok(())
}
