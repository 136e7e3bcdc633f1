//! The one check of the organisation console's pages (issue #14): the page acts in the
//! session's active organisation, for its owners and admins only. A member gets 403, a user in
//! several organisations with none active the picker (back to `return_to`), and a session
//! short of the organisation MFA requirement is refused ([`administered_orgs`]).

use actix_web::{HttpRequest, web};

use super::service::{AccountError, ActiveOrg, active_org, administered_orgs};
use super::types::{Membership, Organisation};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};

/// The organisation the signed-in administrator acts in (see the module docs).
pub async fn admin_org(
    req: &HttpRequest,
    signed_in: &SignedIn,
    return_to: &str,
) -> Result<Organisation, WebError> {
    Ok(admin_membership(req, signed_in, return_to).await?.org)
}

/// [`admin_org`] with the administrator's role in it (owner or admin).
pub async fn admin_membership(
    req: &HttpRequest,
    signed_in: &SignedIn,
    return_to: &str,
) -> Result<Membership, WebError> {
    let st = state(req).clone();
    let current = signed_in.session().clone();
    let return_to = return_to.to_owned();
    web::block(move || {
        let active = match active_org(&st.store, &current)? {
            ActiveOrg::In(m) => m,
            ActiveOrg::None => return Err(WebError::Forbidden),
            ActiveOrg::Choose => return Err(WebError::ChooseOrganisation { return_to }),
        };
        let org = administered_orgs(
            &st.store,
            &current.user.id,
            &current.session.amr,
            Some(&active.org.id),
        )
        .map_err(|e| match e {
            AccountError::SecondFactorRequired => WebError::SecondFactorRequired,
            AccountError::Store(e) => e.into(),
            _ => WebError::Forbidden,
        })?
        .into_iter()
        .next()
        .ok_or(WebError::Forbidden)?;
        Ok(Membership {
            org,
            role: active.role,
        })
    })
    .await?
}
