//! "Continue with SSO" on the sign-in page: from what the user typed (an e-mail address or an
//! organisation name) to the organisation's enabled connection. Every way of not finding one
//! (malformed input, an unknown or unverified domain, an unknown organisation, no enabled
//! connection) is the same `None`, so the page says one neutral thing. Blocking (store).

use super::domains;
use super::error::FederationError;
use super::store::{ConnectionStore, DomainStore};
use super::types::Connection;
use crate::accounts::store::OrgStore;
use crate::ids::OrgId;

/// What the page says whenever nothing routes.
pub const NO_ROUTE: &str = "No single sign-on is set up for that. Check the address or \
    organisation name, or sign in with your password.";

/// The longest input looked up (an e-mail address has at most 254 characters, RFC 5321).
const MAX_INPUT: usize = 254;

/// The connection `input` routes to: an e-mail address by its domain, when an organisation has
/// verified it (a pending claim never routes); anything else as an organisation's name. The
/// organisation's first enabled connection (oldest first).
pub fn route<S: DomainStore + ConnectionStore + OrgStore>(
    store: &S,
    input: &str,
) -> Result<Option<Connection>, FederationError> {
    let input = input.trim();
    if input.is_empty() || input.chars().count() > MAX_INPUT || input.chars().any(char::is_control)
    {
        return Ok(None);
    }
    let org: Option<OrgId> = if input.contains('@') {
        domains::owner_of_email(store, input)?
    } else {
        store.find_org(&input.to_lowercase())?.map(|o| o.id)
    };
    let Some(org) = org else {
        return Ok(None);
    };
    Ok(store
        .list_connections(&org)?
        .into_iter()
        .find(|c| c.enabled))
}
