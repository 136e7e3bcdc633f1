//! Which organisation a user's grant is made in (issue #11): one rule for the authorization
//! endpoint, its consent answer and the device flow's approval.
//!
//! - An organisation's client (`Client::org_id`) admits only that organisation's members, and
//!   its grants are always in that organisation (no picker).
//! - Otherwise the `organization` parameter (the organisation's name, case-insensitively, or
//!   its id) picks one of the user's organisations; naming one the user is not a member of is
//!   refused alike whether it exists or not.
//! - Otherwise the session's active organisation; without one, the user's only organisation,
//!   none for a user in none, and the organisation picker for a user in several.

use crate::accounts::service::admitted_memberships;
use crate::accounts::store::{OrgStore, UserStore};
use crate::accounts::types::Membership;
use crate::ids::OrgId;
use crate::oauth::types::Client;
use crate::sessions::types::CurrentSession;
use crate::store::StoreResult;

/// The organisation a grant is made in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOrg {
    /// In this organisation (with the user's role there), or in none.
    In(Option<Membership>),
    /// The user is in several organisations and none is chosen: the picker asks.
    Choose,
}

/// Why a user may not make the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrgRefusal {
    /// The client belongs to an organisation the user is not a member of (or that their
    /// session may not act in).
    #[error("the user is not a member of the organisation this application belongs to")]
    ClientOrg,
    /// The `organization` asked for is not one of the user's (or does not exist, or their
    /// session may not act in it).
    #[error("the user is not a member of the requested organization")]
    Asked,
}

/// Whether `asked` (a name, case-insensitively, or an id) names this organisation.
pub fn names(asked: &str, m: &Membership) -> bool {
    let asked = asked.trim();
    m.org.id.as_str() == asked || m.org.name.to_lowercase() == asked.to_lowercase()
}

/// The organisation the signed-in user makes a grant for `client` in ([module docs](self)),
/// among the organisations their session may act in ([`Membership::admits`]): `asked` is the
/// `organization` parameter.
pub fn grant_org<S: UserStore>(
    store: &S,
    client: &Client,
    current: &CurrentSession,
    asked: Option<&str>,
) -> StoreResult<Result<GrantOrg, OrgRefusal>> {
    let asked = asked.map(str::trim).filter(|a| !a.is_empty());
    let memberships = admitted_memberships(store, current)?;
    if let Some(owner) = &client.org_id {
        let Some(m) = memberships.into_iter().find(|m| m.org.id == *owner) else {
            return Ok(Err(OrgRefusal::ClientOrg));
        };
        if asked.is_some_and(|a| !names(a, &m)) {
            return Ok(Err(OrgRefusal::Asked));
        }
        return Ok(Ok(GrantOrg::In(Some(m))));
    }
    if let Some(asked) = asked {
        return Ok(match memberships.into_iter().find(|m| names(asked, m)) {
            Some(m) => Ok(GrantOrg::In(Some(m))),
            None => Err(OrgRefusal::Asked),
        });
    }
    if let Some(m) = &current.org {
        return Ok(Ok(GrantOrg::In(Some(m.clone()))));
    }
    Ok(Ok(match memberships.len() {
        0 => GrantOrg::In(None),
        1 => GrantOrg::In(memberships.into_iter().next()),
        _ => GrantOrg::Choose,
    }))
}

/// The organisation an `organization` parameter names, for the sign-in flow it starts (the
/// session then acts there if the user turns out to be a member). Read only into the flow:
/// nothing tells the browser whether it exists.
pub fn asked_org<S: OrgStore>(store: &S, asked: Option<&str>) -> StoreResult<Option<OrgId>> {
    let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if let Some(org) = store.find_org(&asked.to_lowercase())? {
        return Ok(Some(org.id));
    }
    if !asked.starts_with("org_") || asked.len() > 64 {
        return Ok(None);
    }
    Ok(store.find_org_by_id(&OrgId::new(asked))?.map(|o| o.id))
}
