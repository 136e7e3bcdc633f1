//! The organisation picker (`/account/organisation`, issue #11): a user in several
//! organisations chooses the one the session acts in, at sign-in (the authorization endpoint
//! and the pages that need one send them here) or later to switch. The choice goes back to
//! `return_to`, validated as the sign-in page's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::http::safe_return_to;
use super::service::{self, AccountError};
use super::types::Membership;
use crate::audit::RequestMeta;
use crate::ids::OrgId;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::ACCOUNT_ORGANISATION;
use crate::web::{csrf, html, see_other};

#[derive(Template)]
#[template(path = "accounts/organisation.html")]
struct PickerPage<'a> {
    csrf: &'a str,
    memberships: &'a [Membership],
    active: Option<&'a OrgId>,
    return_to: &'a str,
    action: &'a str,
}

#[derive(Deserialize)]
pub struct PickerQuery {
    return_to: Option<String>,
}

/// `GET /account/organisation`: the user's organisations, the active one marked.
pub async fn picker_page(
    req: HttpRequest,
    signed_in: SignedIn,
    query: web::Query<PickerQuery>,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let current = signed_in.session().clone();
    let memberships =
        web::block(move || service::admitted_memberships(&st.store, &current)).await??;
    let return_to = safe_return_to(query.return_to.as_deref());
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let builder = token.builder(StatusCode::OK);
    html(
        builder,
        &PickerPage {
            csrf: &token.token,
            memberships: &memberships,
            active: signed_in.session().org_id(),
            return_to: &return_to,
            action: ACCOUNT_ORGANISATION,
        },
    )
}

#[derive(Deserialize)]
pub struct PickForm {
    #[serde(default)]
    csrf: String,
    org: OrgId,
    return_to: Option<String>,
}

impl CsrfProtected for PickForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The picker's form: the session acts in the chosen organisation (a member's only), then
/// back to `return_to`.
pub async fn pick(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<PickForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let st = state(&req).clone();
    let current = signed_in.into_session();
    let org = form.org;
    web::block(move || service::switch_org(&st.store, st.clock.as_ref(), &current, &org, &meta))
        .await?
        .map_err(|e| match e {
            AccountError::Store(e) => e.into(),
            AccountError::NotMember => {
                WebError::BadRequest("You are not a member of that organisation.".into())
            }
            other => WebError::BadRequest(other.to_string()),
        })?;
    Ok(see_other(&safe_return_to(form.return_to.as_deref())))
}
