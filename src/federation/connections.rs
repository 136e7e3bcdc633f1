//! An organisation's SSO connections: added (OpenID Connect for now), listed, disabled, enabled
//! and deleted, each audited. Every call takes the organisation: another organisation's
//! connection is not found. Blocking (store): call from `web::block` or the CLI.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error::FederationError;
use super::saml_sp;
use super::store::ConnectionStore;
use super::types::{AttributeMapping, Connection, OidcConfig, Protocol, SamlConfig};
use crate::accounts::service as accounts;
use crate::accounts::store::UserStore;
use crate::accounts::types::Organisation;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::ids::{ConnectionId, OrgId, UserId};
use crate::mfa::store::FactorStore;
use crate::secrets::SecretBox;

/// Longest connection name, client id, secret and claim name accepted.
const MAX_NAME: usize = 100;
const MAX_CLIENT_ID: usize = 255;
const MAX_SECRET: usize = 1024;
const MAX_CLAIM: usize = 128;
const MAX_ISSUER: usize = 2048;

/// Which claim names to start from: the OpenID Connect standard ones, or an IdP's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Preset {
    #[default]
    Default,
    /// Okta sends the standard claims (its `groups` claim once a groups claim is configured).
    Okta,
    /// Microsoft Entra ID: standard claims, but its `groups` claim carries object ids, so group
    /// names come from the app roles of the `roles` claim.
    Entra,
}

impl std::str::FromStr for Preset {
    type Err = FederationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "default" => Ok(Preset::Default),
            "okta" => Ok(Preset::Okta),
            "entra" => Ok(Preset::Entra),
            other => Err(FederationError::Invalid(format!(
                "`{other}` is no mapping preset: default, okta or entra"
            ))),
        }
    }
}

impl Preset {
    pub fn mapping(self) -> AttributeMapping {
        match self {
            Preset::Default | Preset::Okta => AttributeMapping::default(),
            Preset::Entra => AttributeMapping {
                groups: "roles".into(),
                ..AttributeMapping::default()
            },
        }
    }
}

/// Per-claim overrides of a preset's mapping.
#[derive(Debug, Clone, Default)]
pub struct MappingOverrides {
    pub email: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub groups: Option<String>,
}

/// An OpenID Connect connection as an administrator enters it.
#[derive(Debug)]
pub struct NewOidc {
    pub name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    /// Absent or empty: a public client at the IdP (PKCE only).
    pub client_secret: Option<SecretString>,
    pub preset: Preset,
    pub overrides: MappingOverrides,
}

/// An upstream issuer: `https://`, or `http://` on a loopback address only (local IdPs and
/// tests); no query, fragment or credentials (OIDC Discovery §2: the issuer is a URL with
/// scheme, host and optional path).
pub fn validate_issuer(raw: &str) -> Result<String, FederationError> {
    let bad = |why: &str| FederationError::Invalid(format!("the issuer {why}"));
    // URL parsing would drop a CR/LF or tab silently: refuse them (and inner spaces) instead.
    if raw.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(bad("is required"));
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(bad("must not contain spaces"));
    }
    if raw.len() > MAX_ISSUER {
        return Err(bad("is too long"));
    }
    let url = Url::parse(raw)
        .map_err(|_| bad("must be an absolute URL such as https://idp.example.com"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if is_loopback(&url) => Ok(raw.to_owned()),
        "http" => Err(bad(
            "must use https:// (http:// only on a loopback address)",
        )),
        _ => Err(bad("must use https://")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn text(what: &str, raw: &str, max: usize) -> Result<String, FederationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FederationError::Invalid(format!("the {what} is required")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(FederationError::Invalid(format!(
            "the {what} must be at most {max} characters, without control characters"
        )));
    }
    Ok(value.to_owned())
}

fn claim(what: &str, over: Option<&str>, preset: String) -> Result<String, FederationError> {
    match over.map(str::trim) {
        None => Ok(preset),
        Some("") => Err(FederationError::Invalid(format!(
            "the {what} claim name must not be empty"
        ))),
        Some(c) if c.len() <= MAX_CLAIM && c.chars().all(|ch| ch.is_ascii_graphic()) => {
            Ok(c.to_owned())
        }
        Some(_) => Err(FederationError::Invalid(format!(
            "the {what} claim must be a claim name (printable ASCII, at most {MAX_CLAIM})"
        ))),
    }
}

/// The mapping a preset and overrides give.
pub fn mapping_of(
    preset: Preset,
    o: &MappingOverrides,
) -> Result<AttributeMapping, FederationError> {
    let base = preset.mapping();
    Ok(AttributeMapping {
        email: claim("e-mail", o.email.as_deref(), base.email)?,
        name: claim("name", o.name.as_deref(), base.name)?,
        username: claim("username", o.username.as_deref(), base.username)?,
        groups: claim("groups", o.groups.as_deref(), base.groups)?,
    })
}

/// Adds an OpenID Connect connection to `org`, enabled; the client secret is sealed with the
/// connection's id as associated data (`secrets.open(id, sealed)` reads it back).
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(org = %org))]
pub fn add_oidc<S: ConnectionStore + AuditStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    org: &OrgId,
    input: NewOidc,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Connection, FederationError> {
    let issuer = validate_issuer(&input.issuer)?;
    let client_id = text("client id", &input.client_id, MAX_CLIENT_ID)?;
    let mapping = mapping_of(input.preset, &input.overrides)?;
    let name = match input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => text("name", n, MAX_NAME)?,
        None => Url::parse(&issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| issuer.clone()),
    };
    let secret = input
        .client_secret
        .as_ref()
        .map(|s| s.expose_secret().trim())
        .filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.len() > MAX_SECRET || s.chars().any(char::is_control)) {
        return Err(FederationError::Invalid(format!(
            "the client secret must be at most {MAX_SECRET} characters, without control characters"
        )));
    }
    let connection = Connection {
        id: ConnectionId::generate(),
        org_id: org.clone(),
        name,
        enabled: true,
        created_at: clock.now(),
        protocol: Protocol::Oidc(OidcConfig {
            issuer,
            client_id,
            mapping,
        }),
    };
    let sealed = secret.map(|s| secrets.seal(connection.id.as_str(), s.as_bytes()));
    store.create_connection(&connection, sealed.as_deref())?;
    audit(
        store,
        clock,
        AuditKind::SsoConnectionAdded,
        &connection,
        actor,
        meta,
    )?;
    Ok(connection)
}

/// Which SAML attribute names to start from (SAML has no standard claim names: each IdP's
/// template has its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SamlPreset {
    /// `email`, `name`, `username`, `groups`: what an Okta SAML app's attribute statements
    /// are usually named (Okta sends only the statements the admin adds; its group attribute
    /// statement is conventionally `groups`).
    #[default]
    Default,
    Okta,
    /// Microsoft Entra ID's claim URIs: e-mail and display name, the UPN as username, and the
    /// app roles (`.../claims/role`) as groups (its `.../claims/groups` carries object ids).
    Entra,
    /// Google Workspace sends only the "app attributes" the admin maps, under names the admin
    /// chooses: map Primary email to `email`, a name field to `name`, and Group membership to
    /// `groups` (the names this preset expects).
    Google,
}

impl std::str::FromStr for SamlPreset {
    type Err = FederationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "default" => Ok(SamlPreset::Default),
            "okta" => Ok(SamlPreset::Okta),
            "entra" => Ok(SamlPreset::Entra),
            "google" => Ok(SamlPreset::Google),
            other => Err(FederationError::Invalid(format!(
                "`{other}` is no SAML mapping preset: default, okta, entra or google"
            ))),
        }
    }
}

impl SamlPreset {
    pub fn mapping(self) -> AttributeMapping {
        match self {
            SamlPreset::Default | SamlPreset::Okta | SamlPreset::Google => AttributeMapping {
                email: "email".into(),
                name: "name".into(),
                username: "username".into(),
                groups: "groups".into(),
            },
            SamlPreset::Entra => AttributeMapping {
                email: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".into(),
                name: "http://schemas.microsoft.com/identity/claims/displayname".into(),
                username: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name".into(),
                groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role".into(),
            },
        }
    }
}

/// A SAML connection as an administrator enters it: the IdP's metadata XML.
#[derive(Debug)]
pub struct NewSaml {
    pub name: Option<String>,
    pub metadata: String,
    pub preset: SamlPreset,
    pub overrides: MappingOverrides,
    pub allow_idp_initiated: bool,
}

/// Adds a SAML connection to `org`, enabled, from the IdP's metadata (entityID, the
/// HTTP-Redirect SSO URL, the signing certificates: metadata without a signing certificate is
/// refused). A new RSA key is made for our SP side, sealed with the connection's id as
/// associated data; its self-signed certificate goes in the config (and our SP metadata).
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(org = %org))]
pub fn add_saml<S: ConnectionStore + AuditStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    org: &OrgId,
    input: NewSaml,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Connection, FederationError> {
    let idp = saml_sp::parse_idp_metadata(&input.metadata).map_err(FederationError::Invalid)?;
    let base = input.preset.mapping();
    let o = &input.overrides;
    let mapping = AttributeMapping {
        email: claim("e-mail", o.email.as_deref(), base.email)?,
        name: claim("name", o.name.as_deref(), base.name)?,
        username: claim("username", o.username.as_deref(), base.username)?,
        groups: claim("groups", o.groups.as_deref(), base.groups)?,
    };
    let name = match input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => text("name", n, MAX_NAME)?,
        None => Url::parse(&idp.entity_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| idp.entity_id.chars().take(MAX_NAME).collect()),
    };
    let id = ConnectionId::generate();
    let key = crate::saml::certs::generate_rsa_key()
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    let cert = crate::saml::certs::self_signed(&key, &format!("mintgate SP {id}"), clock.now())
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    let connection = Connection {
        id,
        org_id: org.clone(),
        name,
        enabled: true,
        created_at: clock.now(),
        protocol: Protocol::Saml(SamlConfig {
            idp_entity_id: idp.entity_id,
            sso_url: idp.sso_url,
            idp_certs: idp.certs,
            sp_cert: crate::saml::certs::to_base64(&cert),
            allow_idp_initiated: input.allow_idp_initiated,
            mapping,
        }),
    };
    let sealed = secrets.seal(connection.id.as_str(), &key);
    store.create_connection(&connection, Some(&sealed))?;
    audit(
        store,
        clock,
        AuditKind::SsoConnectionAdded,
        &connection,
        actor,
        meta,
    )?;
    Ok(connection)
}

fn audit<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    kind: AuditKind,
    c: &Connection,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<(), FederationError> {
    let mut event = AuditEvent::new(clock.now(), kind, meta)
        .org(&c.org_id)
        .subject(c.id.as_str())
        .detail(format!("org {} {} {}", c.org_id, c.protocol.kind(), c.name));
    if let Some(actor) = actor {
        event = event.user(actor);
    }
    store.record_event(&event)?;
    Ok(())
}

/// The organisation's connections, oldest first.
pub fn list<S: ConnectionStore>(
    store: &S,
    org: &OrgId,
) -> Result<Vec<Connection>, FederationError> {
    Ok(store.list_connections(org)?)
}

/// The organisation's connection `id` (another organisation's is not found).
pub fn get<S: ConnectionStore>(
    store: &S,
    org: &OrgId,
    id: &ConnectionId,
) -> Result<Connection, FederationError> {
    match store.find_connection(id)? {
        Some((c, _)) if c.org_id == *org => Ok(c),
        _ => Err(FederationError::NotFound("connection")),
    }
}

/// Disables or enables the organisation's connection: a disabled one routes nobody and
/// signs nobody in.
pub fn set_enabled<S: ConnectionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    id: &ConnectionId,
    enabled: bool,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Connection, FederationError> {
    let c = get(store, org, id)?;
    if !store.set_connection_enabled(org, id, enabled, clock.now())? {
        return Err(FederationError::NotFound("connection"));
    }
    let kind = if enabled {
        AuditKind::SsoConnectionEnabled
    } else {
        AuditKind::SsoConnectionDisabled
    };
    audit(store, clock, kind, &c, actor, meta)?;
    Ok(Connection { enabled, ..c })
}

/// Deletes the organisation's connection and the external identities linked through it (the
/// users stay).
pub fn delete<S: ConnectionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    id: &ConnectionId,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Connection, FederationError> {
    let c = get(store, org, id)?;
    if !store.delete_connection(org, id, clock.now())? {
        return Err(FederationError::NotFound("connection"));
    }
    audit(
        store,
        clock,
        AuditKind::SsoConnectionDeleted,
        &c,
        actor,
        meta,
    )?;
    Ok(c)
}

/// The organisation whose SSO `actor` manages on the settings page: the session's active one
/// (`active`, issue #11) when they administer it (owner or admin). Refused to a session
/// (`amr`) short of the organisation MFA requirement.
pub fn administered_org<S: UserStore + FactorStore>(
    store: &S,
    actor: &UserId,
    amr: &[String],
    active: Option<&crate::ids::OrgId>,
) -> Result<Organisation, FederationError> {
    accounts::administered_orgs(store, actor, amr, active)
        .map_err(|e| match e {
            accounts::AccountError::SecondFactorRequired => FederationError::SecondFactorRequired,
            accounts::AccountError::Store(e) => FederationError::Store(e),
            _ => FederationError::NotAdmin,
        })?
        .into_iter()
        .next()
        .ok_or(FederationError::NotAdmin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            "https://idp.example.com",
            "https://login.microsoftonline.com/tenant/v2.0",
            "http://127.0.0.1:8081",
            "http://[::1]:9000/issuer",
            "http://localhost:3000",
        ] {
            assert!(validate_issuer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "idp.example.com",
            "http://idp.example.com",
            "http://10.0.0.1",
            "ftp://idp.example.com",
            "https://idp.example.com/?x=1",
            "https://idp.example.com/#f",
            "https://user:pw@idp.example.com",
            "https://idp.example.com\r\n",
            "https://idp.example.com/\nx",
            "https://idp.example.com/a b",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_and_overrides() {
        assert_eq!(Preset::Entra.mapping().groups, "roles");
        assert_eq!("okta".parse::<Preset>().unwrap(), Preset::Okta);
        assert!("google".parse::<Preset>().is_err());
        let m = mapping_of(
            Preset::Okta,
            &MappingOverrides {
                email: Some("mail".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((m.email.as_str(), m.name.as_str()), ("mail", "name"));
        assert!(
            mapping_of(
                Preset::Default,
                &MappingOverrides {
                    groups: Some("a b".into()),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            mapping_of(
                Preset::Default,
                &MappingOverrides {
                    email: Some(" ".into()),
                    ..Default::default()
                }
            )
            .is_err(),
            "an empty claim name"
        );
    }
}
