//! E-mail domains an organisation claims and verifies: by a DNS TXT record
//! `_mintgate-challenge.<domain>` holding the claim's challenge, or by the operator. A verified
//! domain belongs to one organisation; pending claims neither block nor reveal each other.
//! Blocking (store, DNS): call from `web::block` or the CLI.

use std::net::SocketAddr;

use super::dns;
use super::error::FederationError;
use super::store::DomainStore;
use super::types::OrgDomain;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::crypto;
use crate::ids::{OrgId, UserId};
use crate::store::StoreError;

/// The label under the domain whose TXT record holds the challenge.
pub const CHALLENGE_LABEL: &str = "_mintgate-challenge";

/// The name whose TXT record verifies `domain`.
pub fn challenge_name(domain: &str) -> String {
    format!("{CHALLENGE_LABEL}.{domain}")
}

/// A domain as claimed: trimmed, lower-case, without a trailing dot, at least two labels of
/// letters, digits and inner hyphens (RFC 1035 §2.3.1), a top-level label that is not all
/// digits. Non-ASCII names are refused (enter the `xn--` form); public suffixes are not
/// checked.
pub fn normalise_domain(raw: &str) -> Result<String, FederationError> {
    let d = raw.trim().to_ascii_lowercase();
    let d = d.strip_suffix('.').unwrap_or(&d);
    let bad = || {
        FederationError::Invalid(format!(
            "`{}` is not a domain name such as example.com (non-ASCII names in their xn-- form)",
            raw.trim().chars().take(100).collect::<String>()
        ))
    };
    if d.is_empty() || d.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err(bad());
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(label_ok) || labels[labels.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    Ok(d.to_owned())
}

fn event(
    clock: &dyn Clock,
    kind: AuditKind,
    org: &OrgId,
    domain: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> AuditEvent {
    let mut event = AuditEvent::new(clock.now(), kind, meta)
        .org(org)
        .subject(domain)
        .detail(format!("org {org}"));
    if let Some(actor) = actor {
        event = event.user(actor);
    }
    event
}

/// Claims `domain` for `org` (pending), or returns the organisation's existing claim with its
/// challenge. Whether another organisation claimed or verified it is not said here.
pub fn claim<S: DomainStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    domain: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<OrgDomain, FederationError> {
    let domain = normalise_domain(domain)?;
    let challenge = format!("mintgate-verification={}", crypto::random_base62(32));
    let claimed = store.claim_domain(&OrgDomain {
        org_id: org.clone(),
        domain: domain.clone(),
        challenge: challenge.clone(),
        created_at: clock.now(),
        verified_at: None,
    })?;
    if claimed.challenge == challenge {
        store.record_event(&event(
            clock,
            AuditKind::OrgDomainClaimed,
            org,
            &domain,
            actor,
            meta,
        ))?;
    }
    Ok(claimed)
}

/// The organisation's claims, verified or pending.
pub fn list<S: DomainStore>(store: &S, org: &OrgId) -> Result<Vec<OrgDomain>, FederationError> {
    Ok(store.list_domains(org)?)
}

fn find_claim<S: DomainStore>(
    store: &S,
    org: &OrgId,
    domain: &str,
) -> Result<OrgDomain, FederationError> {
    store
        .list_domains(org)?
        .into_iter()
        .find(|d| d.domain == domain)
        .ok_or(FederationError::NotFound("domain claim"))
}

/// Verifies the organisation's claim of `domain` by its TXT record, asked of `resolver` (the
/// `dns_resolver` setting; `None`: the system's). Refusals are audited.
pub fn verify_by_dns<S: DomainStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    resolver: Option<SocketAddr>,
    org: &OrgId,
    domain: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<OrgDomain, FederationError> {
    let domain = normalise_domain(domain)?;
    let claim = find_claim(store, org, &domain)?;
    if claim.verified_at.is_some() {
        return Ok(claim);
    }
    let name = challenge_name(&domain);
    let found = dns::resolver(resolver).and_then(|r| dns::txt_records(r, &name));
    let refuse = |why: String| -> Result<OrgDomain, FederationError> {
        store.record_event(
            &event(
                clock,
                AuditKind::OrgDomainRefused,
                org,
                &domain,
                actor,
                meta,
            )
            .detail(format!("org {org}: {why}")),
        )?;
        Err(FederationError::NotVerified(why))
    };
    match found {
        Ok(values) if values.iter().any(|v| v.trim() == claim.challenge) => {}
        Ok(_) => {
            return refuse(format!(
                "no TXT record {name} holds this domain's challenge yet (DNS changes can take a while to appear)"
            ));
        }
        Err(e) => return refuse(format!("the TXT record {name} could not be read: {e}")),
    }
    mark_verified(store, clock, org, claim, "dns", actor, meta)
}

/// The operator's verification (`mintgate org verify-domain`): claims the domain when needed,
/// then marks it verified without DNS.
pub fn verify_by_operator<S: DomainStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    domain: &str,
    meta: &RequestMeta,
) -> Result<OrgDomain, FederationError> {
    let claim = claim(store, clock, org, domain, None, meta)?;
    if claim.verified_at.is_some() {
        return Ok(claim);
    }
    mark_verified(store, clock, org, claim, "operator", None, meta)
}

fn mark_verified<S: DomainStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    claim: OrgDomain,
    how: &str,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<OrgDomain, FederationError> {
    let now = clock.now();
    match store.mark_domain_verified(org, &claim.domain, now) {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            store.record_event(
                &event(
                    clock,
                    AuditKind::OrgDomainRefused,
                    org,
                    &claim.domain,
                    actor,
                    meta,
                )
                .detail(format!("org {org}: verified by another organisation")),
            )?;
            return Err(FederationError::DomainTaken(claim.domain));
        }
        Err(StoreError::NotFound) => return Err(FederationError::NotFound("domain claim")),
        Err(e) => return Err(e.into()),
    }
    store.record_event(
        &event(
            clock,
            AuditKind::OrgDomainVerified,
            org,
            &claim.domain,
            actor,
            meta,
        )
        .detail(format!("org {org} by {how}")),
    )?;
    Ok(OrgDomain {
        verified_at: Some(now),
        ..claim
    })
}

/// The organisation that verified the domain of `email` (the part after its last `@`).
pub fn owner_of_email<S: DomainStore>(
    store: &S,
    email: &str,
) -> Result<Option<OrgId>, FederationError> {
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return Ok(None);
    };
    match normalise_domain(domain) {
        Ok(domain) => Ok(store.verified_domain_owner(&domain)?),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_or_refused() {
        assert_eq!(normalise_domain(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(normalise_domain("a-b.co.uk").unwrap(), "a-b.co.uk");
        assert_eq!(
            normalise_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            "com",
            "example..com",
            "-a.com",
            "a-.com",
            "bücher.de",
            "a.b/c",
            "1.2.3.4",
            "exa mple.com",
            "a@b.com",
            ".com",
        ] {
            assert!(normalise_domain(bad).is_err(), "{bad}");
        }
    }
}
