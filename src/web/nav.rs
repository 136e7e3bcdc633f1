//! The navigation of every signed-in page (issue #14), added once: pages render the base
//! template's `<!--nav-->` marker, and this middleware replaces it with the active organisation
//! (and a link to switch it), the account's pages, the organisation console for its owners and
//! admins, and a sign-out button, for any page whose handler looked the session up (and marks
//! such a page `Cache-Control: no-store` unless it says otherwise). Pages of signed-out visitors
//! drop the marker. A page that a later issue adds takes its place here,
//! and nowhere else.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, SET_COOKIE};
use actix_web::middleware::Next;
use askama::Template;

use super::extractors::{looked_up_session, state};
use super::{cookies, csrf, paths, picker_url};
use crate::sessions::types::CurrentSession;

/// What the base template holds for this middleware to fill.
pub const MARKER: &str = "<!--nav-->";

/// One link of the navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The account's pages, for every signed-in user (Applications, the organisation's API
/// applications, for its owners and admins only).
pub const ACCOUNT_LINKS: [(&str, &str); 6] = [
    (paths::ACCOUNT, "Account"),
    (paths::ACCOUNT_PASSWORD, "Password"),
    (paths::ACCOUNT_SESSIONS, "Sessions"),
    (paths::SETTINGS_SECURITY, "Security"),
    (paths::SETTINGS_API_KEYS, "API keys"),
    (paths::SETTINGS_APPLICATIONS, "Applications"),
];

/// The organisation console, for the active organisation's owners and admins.
pub const ORGANISATION_LINKS: [(&str, &str); 8] = [
    (paths::ORG_MEMBERS, "Members"),
    (paths::ORG_OAUTH_APPS, "OAuth applications"),
    (paths::ORG_GROUPS, "Groups"),
    (paths::SETTINGS_SSO, "SSO"),
    (paths::SETTINGS_SAML_APPS, "SAML apps"),
    (paths::SETTINGS_SCIM, "SCIM"),
    (paths::ORG_AUDIT, "Audit log"),
    (paths::SETTINGS_ORGANISATION, "Policies"),
];

#[derive(Template)]
#[template(path = "partials/nav.html")]
struct Nav<'a> {
    account: Vec<NavLink>,
    organisation: Vec<NavLink>,
    logout: &'static str,
    csrf: &'a str,
    username: &'a str,
}

fn links(table: &[(&'static str, &'static str)], path: &str) -> Vec<NavLink> {
    // The longest matching prefix is the current one (Members under Policies' own prefix).
    let current = table
        .iter()
        .filter(|(href, _)| path == *href || path.starts_with(&format!("{href}/")))
        .map(|(href, _)| href.len())
        .max();
    table
        .iter()
        .map(|&(href, label)| NavLink {
            href,
            label,
            current: Some(href.len()) == current
                && (path == href || path.starts_with(&format!("{href}/"))),
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The navigation's HTML for `current` on the page at `path`, and the CSRF cookie to set when
/// the browser had none.
fn render(
    res: &ServiceResponse<BoxBody>,
    current: &CurrentSession,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    let req = res.request();
    let path = req.path();
    let st = state(req);
    let sid = Some(&current.session.sid);
    let csrf_cookie = cookies::name(&st.settings.server, cookies::CSRF);
    let token = match res.response().cookies().find(|c| c.name() == csrf_cookie) {
        // The page set a fresh CSRF cookie: its forms and this one must agree with it.
        Some(set) => csrf::CsrfToken {
            token: csrf::token_for_cookie(st, set.value(), sid),
            cookie: None,
        },
        None => csrf::issue(st, req, sid),
    };
    let organisation = match &current.org {
        Some(m) if m.role.is_admin() => links(&ORGANISATION_LINKS, path),
        _ => Vec::new(),
    };
    let admin = current.org.as_ref().is_some_and(|m| m.role.is_admin());
    let mut account = links(&ACCOUNT_LINKS, path);
    if !admin {
        // The organisation's API applications are its administrators' (members get 403).
        account.retain(|l| l.href != paths::SETTINGS_APPLICATIONS);
    }
    if organisation.iter().any(|l| l.current) {
        // An organisation page under Security's prefix (SSO, SCIM) is the organisation's.
        account.iter_mut().for_each(|l| l.current = false);
    }
    let nav = Nav {
        account,
        organisation,
        logout: paths::LOGOUT,
        csrf: &token.token,
        username: &current.user.username,
    };
    let mut html = match &current.org {
        Some(m) => format!(
            r#"<span class="org" id="active-org-banner">{} · <a href="{}">switch</a></span>"#,
            escape(&m.org.name),
            escape(&picker_url(path)),
        ),
        None => String::new(),
    };
    html.push_str(&nav.render().unwrap_or_default());
    (html, token.cookie)
}

/// Fills the marker of an HTML page (see the module docs).
pub async fn show_nav(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let is_html = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return Ok(res);
    }
    let (nav, cookie, signed_in) = match looked_up_session(res.request()) {
        Some(current) => {
            let (nav, cookie) = render(&res, &current);
            (nav, cookie, true)
        }
        None => (String::new(), None, false),
    };
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    if signed_in && !head.headers().contains_key(CACHE_CONTROL) {
        // A signed-in page holds the user's name, a session-bound CSRF token and whatever the
        // page lists (sessions, members): no cache keeps it (RFC 9111 §5.2.2.5).
        head.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie.to_string())
    {
        head.headers_mut().append(SET_COOKIE, value);
    }
    let bytes = to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("the page could not be read"))?;
    let page = String::from_utf8_lossy(&bytes).replacen(MARKER, &nav, 1);
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(page))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_link_is_current() {
        let l = links(&ORGANISATION_LINKS, "/settings/organisation/members/abc");
        let current: Vec<_> = l.iter().filter(|l| l.current).map(|l| l.href).collect();
        assert_eq!(current, [paths::ORG_MEMBERS]);
        let l = links(&ORGANISATION_LINKS, "/settings/organisation");
        let current: Vec<_> = l.iter().filter(|l| l.current).map(|l| l.href).collect();
        assert_eq!(current, [paths::SETTINGS_ORGANISATION]);
        let l = links(&ACCOUNT_LINKS, "/settings/security/sso");
        assert!(
            l.iter()
                .any(|l| l.current && l.href == paths::SETTINGS_SECURITY)
        );
    }
}
