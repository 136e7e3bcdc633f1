//! The OpenAPI 3.1 document of `/v1`, generated from the handlers' annotations (utoipa), and a
//! readable reference page rendered from that same document.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::http::*;
use crate::web::caller::LEGACY_DOCS;
use crate::web::error::WebError;
use crate::web::extractors::state;
use crate::web::html;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mintgate API",
        description = "API keys, applications and credential verification. Every endpoint takes \
                       `Authorization: Bearer <API key or OAuth access token>`."
    ),
    paths(create_key, list_keys, delete_key, rotate_key, verify, create_application, list_applications,
          delete_application, current_application),
    components(schemas(ErrorBody, KeyView, KeyList, CreateKeyBody, AllowedIps, VerifyResponse, ApplicationCreated,
                       ApplicationView, ApplicationList, CurrentApplication, Account, CreateApplicationBody,
                       ApiScope, ApplicationScope)),
    modifiers(&BearerAuth),
    tags(
        (name = "API keys", description = "Scoped, expiring, IP-allowlisted keys `mg_key_<env>_<random>`."),
        (name = "Applications", description = "Organisation-level keys with the admin or ci scope."),
        (name = "Authentication", description = "Checking a credential."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (mg_key_…) or an OAuth 2.0 access token whose audience is \
                         mintgate's own (`api_audience`, the issuer by default; a token issued \
                         for another resource server is refused) and whose grant is live (a \
                         session-bound token ends with its browser session)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, serialised once at start-up.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

pub async fn openapi_json(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(state(&req).openapi.to_string())
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    tag: String,
    description: String,
    responses: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "docs/api.html")]
struct ReferencePage {
    operations: Vec<Operation>,
    legacy_docs: &'static str,
}

pub async fn reference_page() -> Result<HttpResponse, WebError> {
    let doc = ApiDoc::openapi();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("DELETE", &item.delete),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            let responses = op
                .responses
                .responses
                .iter()
                .map(|(status, r)| {
                    let text = match r {
                        utoipa::openapi::RefOr::T(resp) => resp.description.clone(),
                        utoipa::openapi::RefOr::Ref(r) => r.ref_location.clone(),
                    };
                    (status.clone(), text)
                })
                .collect();
            operations.push(Operation {
                anchor: format!(
                    "{}-{}",
                    method.to_lowercase(),
                    path.replace(['/', '{', '}'], "-")
                ),
                method: method.to_owned(),
                path: path.clone(),
                tag: op
                    .tags
                    .as_ref()
                    .and_then(|t| t.first().cloned())
                    .unwrap_or_default(),
                description: op.description.clone().unwrap_or_default(),
                responses,
            });
        }
    }
    html(
        HttpResponse::Ok(),
        &ReferencePage {
            operations,
            legacy_docs: LEGACY_DOCS,
        },
    )
}
