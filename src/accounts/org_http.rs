//! Settings > Organisation, the Policies page (issue #14): where an administrator of the active
//! organisation sets its API key lifetime ceiling, the legacy `?api_key=` switch, its session
//! lifetimes (within the server's) and whether members need a second factor; the SSO
//! requirement is shown with a link to the SSO page, where it is set.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::policy::{self, OrgPolicy, PolicyErrors, PolicyInput, ServerBounds};
use super::service::ActiveOrg;
use super::service::{self, AccountError};
use super::types::Organisation;
use crate::audit::RequestMeta;
use crate::ids::OrgId;
use crate::sessions::types::CurrentSession;
use crate::web::csrf::{CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{ORG_POLICIES, SETTINGS_ORGANISATION, SETTINGS_SSO};
use crate::web::{csrf, html, see_other};

#[derive(Template)]
#[template(path = "settings/organisation.html")]
struct OrganisationPage<'a> {
    csrf: &'a str,
    org: &'a Organisation,
    action: &'a str,
    policies_action: &'a str,
    sso_href: &'a str,
    /// The form's values: the stored policy, or what was typed when refused.
    input: &'a PolicyInput,
    errors: &'a PolicyErrors,
    server_idle: String,
    server_absolute: String,
    saved: bool,
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

fn render(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &Organisation,
    input: &PolicyInput,
    errors: &PolicyErrors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let bounds = st.session_policy;
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = token.builder(status);
    html(
        builder,
        &OrganisationPage {
            csrf: &token.token,
            org,
            action: SETTINGS_ORGANISATION,
            policies_action: ORG_POLICIES,
            sso_href: SETTINGS_SSO,
            input,
            errors,
            server_idle: policy::format_lifetime(bounds.idle),
            server_absolute: policy::format_lifetime(bounds.absolute),
            saved: req.query_string().contains("saved=1"),
        },
    )
}

/// `GET /settings/organisation`: the Policies page of the session's active organisation (API
/// keys, session lifetimes, second factor, SSO), when the user administers it; 403 otherwise.
pub async fn organisation_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    let org = super::org_admin::admin_org(&req, &signed_in, SETTINGS_ORGANISATION).await?;
    let input = PolicyInput::of(&OrgPolicy::of(&org));
    render(
        &req,
        &signed_in,
        &org,
        &input,
        &PolicyErrors::default(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct PoliciesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key_max_lifetime: String,
    /// A checkbox: present (`true`) when ticked.
    #[serde(default)]
    api_key_legacy_query: Option<String>,
    #[serde(default)]
    session_idle_timeout: String,
    #[serde(default)]
    session_absolute_timeout: String,
}

impl CsrfProtected for PoliciesForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST ORG_POLICIES`: sets the active organisation's API key and session policies (audited as
/// `org.policy.set`); bad values re-render the page with the input and a message per field.
pub async fn set_policies(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<PoliciesForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = super::org_admin::admin_org(&req, &signed_in, SETTINGS_ORGANISATION).await?;
    let form = form.into_inner();
    let input = PolicyInput {
        api_key_max_lifetime: form.api_key_max_lifetime,
        api_key_legacy_query: form.api_key_legacy_query.is_some(),
        session_idle_timeout: form.session_idle_timeout,
        session_absolute_timeout: form.session_absolute_timeout,
    };
    let st = state(&req);
    let bounds = ServerBounds {
        idle: st.session_policy.idle,
        absolute: st.session_policy.absolute,
    };
    let parsed = match policy::parse(&input, bounds) {
        Ok(p) => p,
        Err(errors) => {
            return render(
                &req,
                &signed_in,
                &org,
                &input,
                &errors,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let st = st.clone();
    let actor = signed_in.user().id.clone();
    web::block(move || {
        policy::set_policy(
            &st.store,
            st.clock.as_ref(),
            &org,
            &parsed,
            Some(&actor),
            &meta,
        )
    })
    .await??;
    Ok(see_other(&format!("{SETTINGS_ORGANISATION}?saved=1")))
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
