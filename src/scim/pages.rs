//! Settings > Security > SCIM: an organisation administrator's SCIM tokens (created and shown
//! once on a `no-store` page, revoked), with CSRF forms, in the session's active organisation.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::http::{base, id_of};
use super::service;
use super::store::{ScimToken, ScimTokenStore};
use crate::accounts::org_admin::admin_org;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{SETTINGS_SCIM, SETTINGS_SCIM_TOKENS};
use crate::web::{html, see_other};

struct TokenView {
    id: String,
    description: String,
    created: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/scim.html")]
struct ScimPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    tokens: &'a [TokenView],
    /// A token just created: shown this once.
    created: Option<&'a str>,
    scim_url: &'a str,
    tokens_action: &'a str,
}

async fn render_page(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &crate::accounts::types::Organisation,
    created: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = org.id.clone();
    let tokens: Vec<ScimToken> = web::block(move || st.store.list_scim_tokens(&org_id)).await??;
    let views: Vec<TokenView> = tokens
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            description: t.description,
            created: rfc3339(t.created_at),
            revoked: t.revoked_at.map(rfc3339),
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let mut builder = token.builder(StatusCode::OK);
    // The page may show a new token: no cache keeps it (RFC 9111 §5.2.2.5).
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &ScimPage {
            csrf: &token.token,
            org_name: &org.name,
            tokens: &views,
            created,
            scim_url: &base(st),
            tokens_action: SETTINGS_SCIM_TOKENS,
        },
    )
}

/// `GET /settings/security/scim`: the active organisation's tokens, for its administrators.
pub async fn scim_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, SETTINGS_SCIM).await?;
    render_page(&req, &signed_in, &org, None).await
}

#[derive(Deserialize)]
pub struct CreateTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    description: String,
}

impl CsrfProtected for CreateTokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Creates a token and shows it once.
pub async fn create_token(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<CreateTokenForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, SETTINGS_SCIM).await?;
    let form = form.into_inner();
    let st = state(&req).clone();
    let (org_id, actor) = (org.id.clone(), signed_in.user().id.clone());
    let (_, plain) = web::block(move || {
        service::create_token(
            &st.store,
            st.clock.as_ref(),
            &org_id,
            &form.description,
            Some(&actor),
            &meta,
        )
    })
    .await??;
    render_page(&req, &signed_in, &org, Some(plain.expose())).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Revokes one of the organisation's tokens (404 for another organisation's).
pub async fn revoke_token(
    req: HttpRequest,
    signed_in: SignedIn,
    _form: CsrfForm<RevokeForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, SETTINGS_SCIM).await?;
    let id = id_of(&req);
    let st = state(&req).clone();
    let actor = signed_in.user().id.clone();
    let revoked = web::block(move || {
        service::revoke_token(
            &st.store,
            st.clock.as_ref(),
            &org.id,
            &id,
            Some(&actor),
            &meta,
        )
    })
    .await??;
    if !revoked {
        return Err(WebError::NotFound);
    }
    Ok(see_other(SETTINGS_SCIM))
}
