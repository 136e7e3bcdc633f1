//! Settings > Organisation: where an administrator of an organisation sets its policy (whether
//! members must use a second factor). The API key policy stays with the CLI.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::service::ActiveOrg;
use super::service::{self, AccountError};
use super::types::Organisation;
use crate::audit::RequestMeta;
use crate::ids::OrgId;
use crate::sessions::types::CurrentSession;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::SETTINGS_ORGANISATION;
use crate::web::{csrf, html, see_other};

#[derive(Template)]
#[template(path = "settings/organisation.html")]
struct OrganisationPage<'a> {
    csrf: &'a str,
    orgs: &'a [Organisation],
    action: &'a str,
}

fn page_error(e: AccountError) -> WebError {
    match e {
        AccountError::Store(e) => e.into(),
        AccountError::NotAdmin => WebError::Forbidden,
        AccountError::SecondFactorRequired => WebError::SecondFactorRequired,
        other => WebError::BadRequest(other.to_string()),
    }
}

/// The session's active organisation (see [`service::active_org`]): the picker first for a user
/// in several with none active; 403 for a user in none.
fn active_org_id(
    st: &crate::web::state::AppState,
    current: &CurrentSession,
) -> Result<OrgId, WebError> {
    match service::active_org(&st.store, current)? {
        ActiveOrg::In(m) => Ok(m.org.id),
        ActiveOrg::None => Err(WebError::Forbidden),
        ActiveOrg::Choose => Err(WebError::ChooseOrganisation {
            return_to: SETTINGS_ORGANISATION.to_owned(),
        }),
    }
}

/// `GET /settings/organisation`: the session's active organisation, with its MFA requirement,
/// when the user administers it; 403 otherwise.
pub async fn organisation_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    let current = signed_in.session().clone();
    let orgs = web::block(move || {
        let active = active_org_id(&st, &current)?;
        service::administered_orgs(&st.store, &user_id, &amr, Some(&active)).map_err(page_error)
    })
    .await??;
    if orgs.is_empty() {
        return Err(WebError::Forbidden);
    }
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let builder = token.builder(StatusCode::OK);
    html(
        builder,
        &OrganisationPage {
            csrf: &token.token,
            orgs: &orgs,
            action: SETTINGS_ORGANISATION,
        },
    )
}

#[derive(Deserialize)]
pub struct RequireMfaForm {
    #[serde(default)]
    csrf: String,
    org: OrgId,
    /// `true` or `false`.
    require_mfa: bool,
}

impl CsrfProtected for RequireMfaForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The page's form: sets the organisation's MFA requirement (audited), back to the page.
pub async fn set_require_mfa(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<RequireMfaForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let st = state(&req).clone();
    let (user_id, amr) = (signed_in.user().id.clone(), signed_in.amr().to_vec());
    let current = signed_in.session().clone();
    web::block(move || {
        // Only the organisation the session acts in.
        if active_org_id(&st, &current)? != form.org {
            return Err(WebError::Forbidden);
        }
        service::admin_set_require_mfa(
            &st.store,
            st.clock.as_ref(),
            &user_id,
            &amr,
            &form.org,
            form.require_mfa,
            &meta,
        )
        .map_err(page_error)
    })
    .await??;
    Ok(see_other(SETTINGS_ORGANISATION))
}
