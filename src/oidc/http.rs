//! OIDC endpoints: discovery, JWKS, userinfo and RP-initiated logout.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::logout::{self, LogoutParams};
use crate::accounts::store::UserStore;
use crate::oauth::introspect;
use crate::oauth::types::{SCOPE_GROUPS, SCOPE_OPENID};
use crate::sessions::service as sessions;
use crate::signing::JWKS_MAX_AGE;
use crate::web::cookies;
use crate::web::error::WebError;
use crate::web::extractors::{MaybeSession, request_meta, session_secret, state};
use crate::web::paths::END_SESSION;
use crate::web::see_other;
use crate::web::{csrf, html};

pub async fn discovery(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state(&req).discovery.to_string())
}

pub async fn jwks(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((CACHE_CONTROL, format!("public, max-age={JWKS_MAX_AGE}")))
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state(&req).keys.current().jwks_json.to_string())
}

/// RFC 6750 §3 errors for a protected resource.
fn bearer_error(
    status: actix_web::http::StatusCode,
    error: &str,
    description: &str,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            WWW_AUTHENTICATE,
            format!(r#"Bearer error="{error}", error_description="{description}""#),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"error": error, "error_description": description}))
}

#[derive(Deserialize, Default)]
struct UserinfoForm {
    access_token: Option<String>,
}

/// OIDC Core §5.3: claims of the token's user, per granted scope. Bearer header, or (POST) the
/// form body parameter of RFC 6750 §2.2.
pub async fn userinfo(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let from_body = if body.is_empty() {
        None
    } else {
        serde_urlencoded::from_bytes::<UserinfoForm>(&body)
            .ok()
            .and_then(|f| f.access_token)
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Ok(bearer_error(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_request",
                "use one method to send the token",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Ok(HttpResponse::Unauthorized()
                .insert_header((WWW_AUTHENTICATE, r#"Bearer realm="mintgate""#))
                .json(serde_json::json!({"error": "invalid_token", "error_description": "no access token"})));
        }
    };
    let st = state(&req).clone();
    let found = crate::web::read(st, move |st| -> Result<_, crate::store::StoreError> {
        let keys = st.keys.current();
        let Some(t) = introspect::inspect(
            &st.store,
            &keys,
            st.settings.server.issuer_str(),
            &token,
            st.clock.now(),
        )?
        else {
            return Ok(None);
        };
        let user = match &t.user_id {
            Some(id) => st.store.find_user(id)?.filter(|u| !u.disabled),
            None => None,
        };
        let groups = match &user {
            Some(u) if t.scope.contains(SCOPE_GROUPS) => Some(st.store.user_groups(&u.id)?),
            _ => None,
        };
        Ok(Some((t, user, groups)))
    })
    .await??;
    let invalid = || {
        bearer_error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is not valid",
        )
    };
    let Some((token, user, groups)) = found else {
        return Ok(invalid());
    };
    if token.kind != introspect::TokenKind::Access {
        return Ok(invalid());
    }
    let Some(user) = user else {
        return Ok(invalid());
    };
    if !token.scope.contains(SCOPE_OPENID) {
        return Ok(bearer_error(
            actix_web::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the openid scope was not granted",
        ));
    }
    let mut claims = serde_json::json!({ "sub": user.id });
    if token.scope.contains("profile") {
        claims["name"] = user.display_name.clone().into();
        claims["preferred_username"] = user.username.clone().into();
        claims["updated_at"] = user.updated_at.into();
    }
    if token.scope.contains("email") {
        claims["email"] = user.email.clone().into();
        // Addresses are entered by administrators, not proven by a mail round trip.
        claims["email_verified"] = false.into();
    }
    if let Some(groups) = groups {
        claims["groups"] = groups.into();
    }
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(claims))
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
struct LogoutConfirmPage<'a> {
    csrf: &'a str,
    action: &'a str,
    client_name: Option<&'a str>,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "oidc/signed_out.html")]
struct SignedOutPage;

/// RP-Initiated Logout 1.0 at `end_session_endpoint` (GET or POST).
pub async fn end_session(
    req: HttpRequest,
    body: web::Bytes,
    session: MaybeSession,
) -> Result<HttpResponse, WebError> {
    let params: LogoutParams = if req.method() == actix_web::http::Method::POST {
        serde_urlencoded::from_bytes(&body)
    } else {
        serde_urlencoded::from_str(req.query_string())
    }
    .map_err(|e| WebError::BadRequest(format!("The logout request could not be read: {e}")))?;
    let st = state(&req).clone();
    let signed_in = session
        .0
        .as_ref()
        .map(|c| (c.user.id.clone(), c.session.sid.clone()));
    let confirming = params.confirm.as_deref() == Some("yes");
    if confirming {
        csrf::verify(
            &st,
            &req,
            signed_in.as_ref().map(|(_, sid)| sid.as_str()),
            params.csrf.as_deref().unwrap_or(""),
        )?;
    }
    let (st2, p2, si) = (st.clone(), params.clone(), signed_in.clone());
    let plan = web::block(move || {
        let keys = st2.keys.current();
        logout::plan(
            &st2.store,
            &keys,
            st2.settings.server.issuer_str(),
            &p2,
            si.as_ref().map(|(u, s)| (u.as_str(), s.as_str())),
        )
    })
    .await??
    .map_err(|m| WebError::BadRequest(format!("This sign-out request is not valid: {m}.")))?;

    if !(plan.confirmed || confirming) && signed_in.is_some() {
        // No valid id_token_hint: ask before ending anything (RP-Initiated Logout §2).
        let sid = signed_in.as_ref().map(|(_, s)| s.as_str());
        let mut token = csrf::issue(&st, &req, sid);
        let builder = token.builder(StatusCode::OK);
        let hidden = [
            ("client_id", plan.client.as_ref().map(|c| c.id.clone())),
            (
                "post_logout_redirect_uri",
                params.post_logout_redirect_uri.clone(),
            ),
            ("state", params.state.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let page = LogoutConfirmPage {
            csrf: &token.token,
            action: END_SESSION,
            client_name: plan.client.as_ref().map(|c| c.name.as_str()),
            hidden,
        };
        return html(builder, &page);
    }
    if let Some(secret) = session_secret(&req) {
        let meta = request_meta(&req);
        let st2 = st.clone();
        web::block(move || sessions::end(&st2.store, st2.clock.as_ref(), &secret, &meta)).await??;
    }
    let mut res = match &plan.redirect {
        Some(to) => see_other(to),
        None => html(HttpResponse::Ok(), &SignedOutPage)?,
    };
    let _ = res.add_cookie(&cookies::removal(&st.settings.server, cookies::SESSION));
    Ok(res)
}
