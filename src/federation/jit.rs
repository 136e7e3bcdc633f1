//! From an upstream sign-in's validated claims to one of our users (just-in-time provisioning
//! and linking), under the rules of issue #11:
//!
//! 1. (connection, `sub`) already linked: that user, who must still be a member of the
//!    connection's organisation and not disabled.
//! 2. Otherwise the e-mail (the mapping's claim) must be verified by the IdP
//!    (`email_verified` is the JSON `true`) and its domain verified by *the connection's*
//!    organisation: an IdP cannot claim addresses of a domain it does not own.
//! 3. A member of that organisation with that e-mail is linked; otherwise a user managed by
//!    the organisation is created in it.
//!
//! Then the IdP's groups (the mapping's claim) fill the organisation's groups managed by the
//! connection. Every refusal is audited (`sso.refused`) and creates or links nothing.

use crate::accounts::service::{self as accounts, AccountError};
use crate::accounts::store::UserStore;
use crate::accounts::types::{Email, User};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::federation::oidc_rp::UpstreamClaims;
use crate::federation::store::{DomainStore, ExternalIdentityStore, ManagedGroupStore};
use crate::federation::types::{AttributeMapping, Connection, ExternalIdentity};
use crate::store::StoreError;

/// Why an upstream sign-in was refused: shown to the user, audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The identity provider did not send an e-mail address.")]
    NoEmail,
    #[error("The identity provider has not verified this e-mail address.")]
    EmailNotVerified,
    #[error("This e-mail address's domain does not belong to the organisation of this connection.")]
    ForeignDomain,
    #[error("This account is no longer a member of the organisation.")]
    NotMember,
    #[error("This account is disabled.")]
    Disabled,
    #[error("Several accounts of the organisation have this e-mail address; ask an administrator.")]
    Ambiguous,
    /// Linking would let this organisation's IdP sign in an account that also belongs to other
    /// organisations (and act there, or enrol credentials that do).
    #[error(
        "This account also belongs to other organisations: sign in with its password, or ask an administrator."
    )]
    OtherOrganisations,
    /// The connection was disabled (or deleted) while the IdP answered.
    #[error("This sign-in's SSO connection has been disabled.")]
    ConnectionDisabled,
}

impl Refusal {
    /// The audit detail.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoEmail => "no_email",
            Refusal::EmailNotVerified => "email_not_verified",
            Refusal::ForeignDomain => "foreign_domain",
            Refusal::NotMember => "not_member",
            Refusal::Disabled => "disabled",
            Refusal::Ambiguous => "ambiguous_email",
            Refusal::OtherOrganisations => "other_organisations",
            Refusal::ConnectionDisabled => "connection_disabled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// What the mapping reads from the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

fn string_claim(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Reads the mapped attributes. `email_verified` counts only as the JSON `true` (OIDC Core
/// §5.1); groups are the strings of an array claim (or a single string), trimmed, without
/// repeats, at most 100 of 1-100 characters each.
pub fn map_claims(mapping: &AttributeMapping, claims: &UpstreamClaims) -> Mapped {
    let c = &claims.claims;
    let mut groups: Vec<String> = Vec::new();
    let raw: Vec<&str> = match c.get(&mapping.groups) {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    };
    for g in raw {
        let g = g.trim();
        let ok = (1..=100).contains(&g.chars().count()) && !g.chars().any(char::is_control);
        if ok && !groups.iter().any(|h| h.eq_ignore_ascii_case(g)) && groups.len() < 100 {
            groups.push(g.to_owned());
        }
    }
    Mapped {
        email: string_claim(c, &mapping.email).map(|e| normalise_email(&e)),
        email_verified: c.get("email_verified") == Some(&serde_json::Value::Bool(true)),
        name: string_claim(c, &mapping.name),
        username: string_claim(c, &mapping.username),
        groups,
    }
}

/// How the user was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Already linked.
    Linked,
    /// An existing member, linked now.
    NewlyLinked,
    /// Created now (JIT).
    Created,
}

fn refuse<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    connection: &Connection,
    subject: &str,
    refusal: Refusal,
    meta: &RequestMeta,
) -> Result<(User, How), JitError> {
    record_refusal(store, clock, connection, subject, refusal.code(), meta)?;
    Err(JitError::Refused(refusal))
}

/// Audits a refused upstream sign-in (`sso.refused`, detail: the connection and why).
pub fn record_refusal<S: AuditStore>(
    store: &S,
    clock: &dyn Clock,
    connection: &Connection,
    subject: &str,
    why: &str,
    meta: &RequestMeta,
) -> Result<(), StoreError> {
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::SsoRefused, meta)
            .org(&connection.org_id)
            .subject(subject)
            .detail(format!("{} {why}", connection.id.as_str())),
    )
}

fn is_member<S: UserStore>(
    store: &S,
    connection: &Connection,
    user: &User,
) -> Result<bool, StoreError> {
    Ok(store
        .memberships(&user.id)?
        .iter()
        .any(|m| m.org.id == connection.org_id))
}

/// The member with this e-mail address linked now, or a managed user created and linked.
/// Concurrent callbacks for the same new `sub` converge: a uniqueness conflict (the e-mail's
/// user or the link created meanwhile) re-reads and takes the winner's; a user created here
/// whose link lost is deleted again.
#[allow(clippy::too_many_arguments)]
fn link_or_create<S>(
    store: &S,
    clock: &dyn Clock,
    connection: &Connection,
    mapped: &Mapped,
    email: &Email,
    subject: &str,
    meta: &RequestMeta,
) -> Result<Result<(User, How), Refusal>, JitError>
where
    S: UserStore + AuditStore + ExternalIdentityStore,
{
    let now = clock.now();
    let members = store.find_member_by_email(&connection.org_id, &email.key())?;
    let (user, how) = match members.as_slice() {
        [] => {
            let hint = mapped.username.as_deref().unwrap_or(email.as_str());
            let name = mapped.name.as_deref().unwrap_or(hint);
            match accounts::create_managed_user(
                store,
                clock,
                &connection.org_id,
                hint,
                email,
                name,
                meta,
            ) {
                Ok(user) => (user, How::Created),
                Err(AccountError::Duplicate(_)) => {
                    // Created meanwhile by a concurrent sign-in: that one.
                    match store
                        .find_member_by_email(&connection.org_id, &email.key())?
                        .as_slice()
                    {
                        [user] => (user.clone(), How::NewlyLinked),
                        [] => return Err(StoreError::Conflict(crate::store::Unique::Email).into()),
                        _ => return Ok(Err(Refusal::Ambiguous)),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        [user] => (user.clone(), How::NewlyLinked),
        _ => return Ok(Err(Refusal::Ambiguous)),
    };
    if user.disabled {
        return Ok(Err(Refusal::Disabled));
    }
    if how == How::NewlyLinked && !only_in(store, connection, &user)? {
        return Ok(Err(Refusal::OtherOrganisations));
    }
    let link = ExternalIdentity {
        connection_id: connection.id.clone(),
        subject: subject.to_owned(),
        user_id: user.id.clone(),
    };
    match store.link_external(&link, now) {
        Ok(()) => Ok(Ok((user, how))),
        Err(StoreError::Conflict(_)) => {
            // Linked meanwhile by a concurrent sign-in: its user wins.
            let winner = match store.find_external(&connection.id, subject, now)? {
                Some(id) => store.find_user(&id)?,
                None => None,
            };
            let Some(winner) = winner else {
                return Err(StoreError::Conflict(crate::store::Unique::Record).into());
            };
            if how == How::Created && winner.id != user.id {
                store.delete_user(&user.id, now)?;
            }
            if winner.disabled {
                return Ok(Err(Refusal::Disabled));
            }
            Ok(Ok((winner, How::Linked)))
        }
        Err(e) => Err(e.into()),
    }
}

/// An e-mail claim with its domain's trailing dots trimmed: `bob@acme.test.` is the address
/// `bob@acme.test` (the same user), not another.
fn normalise_email(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.trim_end_matches('.')),
        None => raw.to_owned(),
    }
}

/// Whether the connection's organisation is the user's only one: only then is an existing
/// account linked (once linked, it cannot join another: the store refuses the membership).
fn only_in<S: UserStore>(
    store: &S,
    connection: &Connection,
    user: &User,
) -> Result<bool, StoreError> {
    Ok(store
        .memberships(&user.id)?
        .iter()
        .all(|m| m.org.id == connection.org_id))
}

/// Finds, links or creates the user for a validated upstream sign-in, then fills the
/// connection's managed groups. Blocking (store).
pub fn provision<S>(
    store: &S,
    clock: &dyn Clock,
    connection: &Connection,
    mapping: &AttributeMapping,
    claims: &UpstreamClaims,
    meta: &RequestMeta,
) -> Result<(User, How), JitError>
where
    S: UserStore + AuditStore + DomainStore + ExternalIdentityStore + ManagedGroupStore,
{
    let now = clock.now();
    let subject = claims.subject.as_str();
    let mapped = map_claims(mapping, claims);
    let (user, how) = match store.find_external(&connection.id, subject, now)? {
        Some(id) => match store.find_user(&id)? {
            Some(u) if u.disabled => {
                return refuse(store, clock, connection, subject, Refusal::Disabled, meta);
            }
            Some(u) if is_member(store, connection, &u)? => (u, How::Linked),
            _ => return refuse(store, clock, connection, subject, Refusal::NotMember, meta),
        },
        None => {
            let Some(email) = mapped.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
                return refuse(store, clock, connection, subject, Refusal::NoEmail, meta);
            };
            if !mapped.email_verified {
                return refuse(
                    store,
                    clock,
                    connection,
                    subject,
                    Refusal::EmailNotVerified,
                    meta,
                );
            }
            let domain = email
                .as_str()
                .rsplit_once('@')
                .map(|(_, d)| d.trim_end_matches('.').to_lowercase())
                .unwrap_or_default();
            if store.verified_domain_owner(&domain)? != Some(connection.org_id.clone()) {
                return refuse(
                    store,
                    clock,
                    connection,
                    subject,
                    Refusal::ForeignDomain,
                    meta,
                );
            }
            let (user, how) =
                match link_or_create(store, clock, connection, &mapped, &email, subject, meta)? {
                    Ok(found) => found,
                    Err(refusal) => {
                        return refuse(store, clock, connection, subject, refusal, meta);
                    }
                };
            if how != How::Linked {
                let kind = if how == How::Created {
                    AuditKind::SsoUserCreated
                } else {
                    AuditKind::SsoUserLinked
                };
                store.record_event(
                    &AuditEvent::new(now, kind, meta)
                        .org(&connection.org_id)
                        .user(&user.id)
                        .subject(subject)
                        .detail(connection.id.as_str()),
                )?;
            }
            (user, how)
        }
    };
    let sync = |store: &S| {
        store.sync_managed_groups(
            &connection.org_id,
            &connection.id,
            &user.id,
            &mapped.groups,
            now,
        )
    };
    // A concurrent sign-in may create the same group first: once more, over the winner's.
    match sync(store) {
        Err(StoreError::Conflict(_)) => {
            sync(store)?;
        }
        other => {
            other?;
        }
    }
    store.record_event(
        &AuditEvent::new(now, AuditKind::SsoSignIn, meta)
            .org(&connection.org_id)
            .user(&user.id)
            .subject(subject)
            .detail(connection.id.as_str()),
    )?;
    Ok((user, how))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> UpstreamClaims {
        UpstreamClaims {
            subject: "s".into(),
            claims: v.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn email_verified_must_be_the_json_true() {
        let m = AttributeMapping::default();
        for (v, ok) in [
            (json!(true), true),
            (json!("true"), false),
            (json!(1), false),
        ] {
            let c = claims(json!({"email": "a@x.test", "email_verified": v}));
            assert_eq!(map_claims(&m, &c).email_verified, ok);
        }
        assert!(!map_claims(&m, &claims(json!({"email": "a@x.test"}))).email_verified);
    }

    #[test]
    fn an_email_domain_loses_its_trailing_dot() {
        let m = AttributeMapping::default();
        let c = claims(json!({"email": " Bob@acme.test. "}));
        assert_eq!(map_claims(&m, &c).email.as_deref(), Some("Bob@acme.test"));
    }

    #[test]
    fn groups_come_from_the_mapped_claim_without_repeats() {
        let m = AttributeMapping {
            groups: "roles".into(),
            ..AttributeMapping::default()
        };
        let c = claims(json!({"roles": ["Eng", "eng", " ops ", "", 3], "groups": ["x"]}));
        assert_eq!(map_claims(&m, &c).groups, ["Eng", "ops"]);
        let c = claims(json!({"roles": "solo"}));
        assert_eq!(map_claims(&m, &c).groups, ["solo"]);
    }
}
