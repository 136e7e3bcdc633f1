//! The route table, assembled at the top of the house: every domain's handlers mounted on the
//! paths of [`crate::web::paths`], with the server-wide headers and extractor limits.

use actix_web::http::header;
use actix_web::middleware::{self, DefaultHeaders};
use actix_web::{HttpResponse, web};

use crate::web::error::WebError;
use crate::web::paths::*;
use crate::web::see_other;
use crate::{accounts, apikeys, audit_log, federation, mfa, oauth, oidc, ops, v1};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { see_other(ACCOUNT) }))
        .service(
            web::resource(LOGIN)
                .route(web::get().to(accounts::http::login_page))
                .route(web::post().to(accounts::http::login_submit)),
        )
        .service(
            web::resource(LOGIN_SSO).route(web::post().to(federation::http::continue_with_sso)),
        )
        .service(web::resource(SETTINGS_SSO).route(web::get().to(federation::http::sso_page)))
        .service(
            web::resource(SETTINGS_SSO_SAML_CONNECTIONS)
                .route(web::post().to(federation::http::add_saml_connection)),
        )
        .service(
            web::resource(SETTINGS_SSO_CONNECTIONS)
                .route(web::post().to(federation::http::add_connection)),
        )
        .service(
            web::resource(SETTINGS_SSO_CONNECTION_ACTION)
                .route(web::post().to(federation::http::connection_action)),
        )
        .service(
            web::resource(SETTINGS_SSO_DOMAINS)
                .route(web::post().to(federation::http::claim_domain)),
        )
        .service(
            web::resource(SETTINGS_SSO_DOMAIN_VERIFY)
                .route(web::post().to(federation::http::verify_domain)),
        )
        .service(
            web::resource(SETTINGS_SSO_REQUIRE)
                .route(web::post().to(federation::http::set_require_sso)),
        )
        .service(web::resource(LOGIN_FACTOR).route(web::get().to(mfa::http::factor_page)))
        .service(
            web::resource(OIDC_START)
                .route(web::get().to(federation::oidc_http::start_page))
                .route(web::post().to(federation::oidc_http::start)),
        )
        .service(web::resource(OIDC_CALLBACK).route(web::get().to(federation::oidc_http::callback)))
        .service(
            web::resource(SAML_SP_METADATA).route(web::get().to(federation::saml_http::metadata)),
        )
        .service(
            web::resource(SAML_SP_START)
                .route(web::get().to(federation::saml_http::start_page))
                .route(web::post().to(federation::saml_http::start)),
        )
        .service(
            web::resource(SAML_ACS)
                .app_data(form_config(federation::saml_http::ACS_FORM_LIMIT))
                .route(web::post().to(federation::saml_http::acs)),
        )
        .service(
            web::resource(SAML_ACS_CONTINUE)
                .route(web::get().to(federation::saml_http::acs_continue)),
        )
        .service(
            web::resource(LOGIN_PASSKEY_BEGIN)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::sign_in_begin)),
        )
        .service(
            web::resource(LOGIN_PASSKEY_FINISH)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::sign_in_finish)),
        )
        .service(
            web::resource(LOGIN_FACTOR_PASSKEY_BEGIN)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::factor_begin)),
        )
        .service(
            web::resource(LOGIN_FACTOR_PASSKEY_FINISH)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::factor_finish)),
        )
        .service(
            web::resource(SETTINGS_PASSKEYS_BEGIN)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::register_begin)),
        )
        .service(
            web::resource(SETTINGS_PASSKEYS_FINISH)
                .wrap(passkey_json_errors())
                .route(web::post().to(mfa::passkey_http::register_finish)),
        )
        .service(
            web::resource(SETTINGS_PASSKEY_RENAME).route(web::post().to(mfa::passkey_http::rename)),
        )
        .service(
            web::resource(SETTINGS_PASSKEY_DELETE).route(web::post().to(mfa::passkey_http::delete)),
        )
        .service(web::resource(PASSKEYS_SCRIPT).route(web::get().to(passkeys_script)))
        .service(web::resource(LOGOUT).route(web::post().to(accounts::http::logout)))
        .service(
            web::resource(LOGIN_FACTOR_TOTP).route(web::post().to(mfa::totp_http::submit_totp)),
        )
        .service(
            web::resource(LOGIN_FACTOR_RECOVERY)
                .route(web::post().to(mfa::totp_http::submit_recovery_code)),
        )
        .service(web::resource(SETTINGS_SECURITY).route(web::get().to(mfa::http::security_page)))
        .service(web::resource(SETTINGS_TOTP).route(web::post().to(mfa::totp_http::begin)))
        .service(
            web::resource(SETTINGS_TOTP_CONFIRM).route(web::post().to(mfa::totp_http::confirm)),
        )
        .service(
            web::resource(SETTINGS_TOTP_DISABLE).route(web::post().to(mfa::totp_http::disable)),
        )
        .service(
            web::resource(SETTINGS_RECOVERY_CODES)
                .route(web::post().to(mfa::totp_http::regenerate_codes)),
        )
        .service(web::resource(ACCOUNT).route(web::get().to(accounts::http::account_page)))
        .service(
            web::resource(ACCOUNT_ORGANISATION)
                .route(web::get().to(accounts::org_picker::picker_page))
                .route(web::post().to(accounts::org_picker::pick)),
        )
        .service(
            web::resource(SETTINGS_ORGANISATION)
                .route(web::get().to(accounts::org_http::organisation_page))
                .route(web::post().to(accounts::org_http::set_require_mfa)),
        )
        .service(
            web::resource(ORG_POLICIES).route(web::post().to(accounts::org_http::set_policies)),
        )
        .service(web::resource(ORG_AUDIT).route(web::get().to(audit_log::http::audit_page)))
        .service(web::resource(ORG_AUDIT_EXPORT).route(web::get().to(audit_log::http::export)))
        .service(
            web::resource(SETTINGS_API_KEYS)
                .route(web::get().to(apikeys::pages::api_keys_page))
                .route(web::post().to(apikeys::pages::create_key)),
        )
        .service(
            web::resource("/settings/api-keys/{id}/revoke")
                .route(web::get().to(apikeys::pages::confirm_revoke))
                .route(web::post().to(apikeys::pages::revoke_key)),
        )
        .service(
            web::resource(SETTINGS_APPLICATIONS)
                .route(web::get().to(apikeys::pages::applications_page))
                .route(web::post().to(apikeys::pages::create_application)),
        )
        .service(
            web::resource("/settings/applications/{id}/delete")
                .route(web::post().to(apikeys::pages::delete_application)),
        )
        .service(web::resource(COPY_SCRIPT).route(web::get().to(copy_script)))
        .service(web::resource(CONSENTS_REVOKE).route(web::post().to(oauth::http::revoke_consent)))
        .service(
            web::resource([AUTHORIZE, AUTHORIZE_ALIAS])
                .route(web::get().to(oauth::http::authorize_get))
                .route(web::post().to(oauth::http::authorize_post)),
        )
        .service(
            web::resource(AUTHORIZE_RESUME).route(web::get().to(oauth::http::authorize_resume)),
        )
        .service(web::resource(CONSENT).route(web::post().to(oauth::http::consent)))
        .service(web::resource([TOKEN, TOKEN_ALIAS]).route(web::post().to(oauth::http::token)))
        .service(
            web::resource(DEVICE_AUTHORIZATION)
                .route(web::post().to(oauth::device_http::device_authorization)),
        )
        .service(
            web::resource(DEVICE)
                .route(web::get().to(oauth::device_http::device_page))
                .route(web::post().to(oauth::device_http::device_submit)),
        )
        .service(web::resource(INTROSPECT).route(web::post().to(oauth::http::introspect)))
        .service(web::resource(REVOKE).route(web::post().to(oauth::http::revoke)))
        .service(
            web::resource([OIDC_DISCOVERY, OAUTH_DISCOVERY])
                .route(web::get().to(oidc::http::discovery)),
        )
        // `/v1` in one scope, so every answer there has the `/v1` error body, also those actix
        // gives before a handler runs (413, 405) and unknown `/v1` paths (404); every handler
        // takes a `Caller`, and answers to `?api_key=` callers say it is deprecated.
        .service(
            web::scope(V1)
                .wrap(middleware::from_fn(v1::error::json_error_bodies))
                .wrap(middleware::from_fn(crate::web::caller::deprecation_headers))
                .service(
                    web::resource(in_v1(V1_API_KEYS))
                        .route(web::get().to(v1::http::list_keys))
                        .route(web::post().to(v1::http::create_key)),
                )
                .service(
                    web::resource(in_v1(V1_API_KEY)).route(web::delete().to(v1::http::delete_key)),
                )
                .service(
                    web::resource(in_v1(V1_API_KEY_ROTATE))
                        .route(web::post().to(v1::http::rotate_key)),
                )
                .service(web::resource(in_v1(V1_VERIFY)).route(web::get().to(v1::http::verify)))
                .service(
                    web::resource(in_v1(V1_APPLICATIONS))
                        .route(web::get().to(v1::http::list_applications))
                        .route(web::post().to(v1::http::create_application)),
                )
                .service(
                    web::resource(in_v1(V1_APPLICATION_BY_ID))
                        .route(web::delete().to(v1::http::delete_application)),
                )
                .service(
                    web::resource(in_v1(V1_APPLICATION))
                        .route(web::get().to(v1::http::current_application)),
                )
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(v1::error::V1Error::NotFound)
                })),
        )
        .service(web::resource(OPENAPI).route(web::get().to(v1::openapi::openapi_json)))
        .service(web::resource(API_REFERENCE).route(web::get().to(v1::openapi::reference_page)))
        .service(web::resource(JWKS).route(web::get().to(oidc::http::jwks)))
        // A Bearer resource: every error there, also those actix gives, is RFC 6750 JSON.
        .service(
            web::resource(USERINFO)
                .wrap(middleware::from_fn(oidc::http::bearer_error_bodies))
                .route(web::get().to(oidc::http::userinfo))
                .route(web::post().to(oidc::http::userinfo)),
        )
        .service(
            web::resource(END_SESSION)
                .route(web::get().to(oidc::http::end_session))
                .route(web::post().to(oidc::http::end_session)),
        )
        .configure(scim_routes)
        .service(web::resource(HEALTHZ).route(web::get().to(ops::http::healthz)))
        .service(web::resource(READYZ).route(web::get().to(ops::http::readyz)))
        .service(web::resource(METRICS).route(web::get().to(ops::http::metrics)))
        .service(web::resource(STYLESHEET).route(web::get().to(stylesheet)))
        // mintgate as SAML identity provider (issue #12).
        .service(
            web::resource(SAML_IDP_METADATA).route(web::get().to(crate::saml_idp::http::metadata)),
        )
        .service(
            web::resource(SAML_SSO)
                .route(web::get().to(crate::saml_idp::http::sso_get))
                .route(web::post().to(crate::saml_idp::http::sso_post)),
        )
        .service(
            web::resource(SAML_SSO_CONTINUE)
                .route(web::get().to(crate::saml_idp::http::sso_continue)),
        )
        .service(
            web::resource(SAML_SSO_RESUME).route(web::get().to(crate::saml_idp::http::sso_resume)),
        )
        .service(
            web::resource(SETTINGS_SAML_APPS)
                .route(web::get().to(crate::saml_idp::http::apps_page))
                .route(web::post().to(crate::saml_idp::http::add_app)),
        )
        .service(
            web::resource(SETTINGS_SAML_APP_DELETE)
                .route(web::post().to(crate::saml_idp::http::delete_app)),
        )
        .service(web::resource(SAML_POST_SCRIPT).route(web::get().to(saml_post_script)))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(WebError::NotFound)
        }));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/mintgate.css"))
}

async fn copy_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/copy.js"))
}

async fn saml_post_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/saml-post.js"))
}

async fn passkeys_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/passkeys.js"))
}

/// HTTP Strict Transport Security (RFC 6797): with an https issuer, browsers never again talk
/// plain http to this host (and its subdomains) for a year.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// RFC 9700 §4.16 (clickjacking) and the usual hardening headers, on every response; HSTS too
/// when the issuer is https (never on http, where it would be meaningless or, on a shared
/// host name, harmful).
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new();
    let headers = if https {
        headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS))
    } else {
        headers
    };
    headers
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// The passkey endpoints answer JSON, their failures included (see
/// [`mfa::passkey_http::json_errors`]).
fn passkey_json_errors<B: 'static>() -> actix_web::middleware::ErrorHandlers<B> {
    actix_web::middleware::ErrorHandlers::new().default_handler(mfa::passkey_http::json_errors)
}

pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|e, _| match e {
            actix_web::error::UrlencodedError::Overflow { .. } => WebError::PayloadTooLarge.into(),
            e => WebError::BadRequest(format!("The form could not be read: {e}")).into(),
        })
}

/// A `/v1` path relative to the `/v1` scope.
fn in_v1(path: &'static str) -> &'static str {
    path.strip_prefix(V1).unwrap_or(path)
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|e, _| match e {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
            | actix_web::error::JsonPayloadError::Overflow { .. } => {
                WebError::PayloadTooLarge.into()
            }
            e => WebError::BadRequest(format!("The JSON body could not be read: {e}")).into(),
        })
}

/// A path segment that does not parse as the id it stands for names nothing: 404 (a page here,
/// the JSON body under `/v1`), never the parser's message.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| WebError::NotFound.into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        WebError::BadRequest(format!("The query string could not be read: {e}")).into()
    })
}

/// SCIM 2.0 (issue #13): `/scim/v2` for an organisation's bearer token, answered in SCIM JSON
/// (errors too), and Settings > Security > SCIM.
fn scim_routes(cfg: &mut web::ServiceConfig) {
    use crate::scim::http as scim;
    use crate::scim::pages;
    let not_allowed = || web::to(scim::method_not_allowed);
    cfg.service(
        web::resource(SCIM_USERS)
            .route(web::get().to(scim::list_users))
            .route(web::post().to(scim::create_user))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(SCIM_USER)
            .route(web::get().to(scim::get_user))
            .route(web::put().to(scim::replace_user))
            .route(web::patch().to(scim::patch_user))
            .route(web::delete().to(scim::delete_user))
            // `POST /Users/.search` (RFC 7644 §3.4.3) is not supported: 501.
            .route(web::post().to(scim::other))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(SCIM_GROUPS)
            .route(web::get().to(scim::list_groups))
            .route(web::post().to(scim::create_group))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(SCIM_GROUP)
            .route(web::get().to(scim::get_group))
            .route(web::put().to(scim::replace_group))
            .route(web::patch().to(scim::patch_group))
            .route(web::delete().to(scim::delete_group))
            .route(web::post().to(scim::other))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(SCIM_SERVICE_PROVIDER_CONFIG)
            .route(web::get().to(scim::service_provider_config)),
    )
    .service(web::resource(SCIM_SCHEMAS).route(web::get().to(scim::schemas)))
    .service(web::resource(SCIM_SCHEMA).route(web::get().to(scim::schema)))
    .service(web::resource(SCIM_RESOURCE_TYPES).route(web::get().to(scim::resource_types)))
    .service(web::resource(SCIM_RESOURCE_TYPE).route(web::get().to(scim::resource_type)))
    .service(web::resource(SCIM_OTHER).to(scim::other))
    .service(web::resource(SETTINGS_SCIM).route(web::get().to(pages::scim_page)))
    .service(web::resource(SETTINGS_SCIM_TOKENS).route(web::post().to(pages::create_token)))
    .service(web::resource(SETTINGS_SCIM_TOKEN_REVOKE).route(web::post().to(pages::revoke_token)));
}
