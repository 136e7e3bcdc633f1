//! The active organisation on every signed-in page (issue #11), added once: pages render the
//! base template's `<!--active-org-->` marker, and this middleware replaces it with the
//! organisation the request's session acts in and a link to switch (the picker), for any page
//! whose handler looked the session up. Pages of signed-out visitors drop the marker.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;

use super::extractors::looked_up_session;
use super::picker_url;

/// What the base template holds for this middleware to fill.
pub const MARKER: &str = "<!--active-org-->";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Fills the marker of an HTML page (see the module docs).
pub async fn show_active_org(
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
    let banner = match looked_up_session(res.request()) {
        Some(current) => match &current.org {
            Some(m) => format!(
                r#"<span class="org" id="active-org-banner">{} · <a href="{}">switch</a></span>"#,
                escape(&m.org.name),
                escape(&picker_url(res.request().path())),
            ),
            None => String::new(),
        },
        None => String::new(),
    };
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("the page could not be read"))?;
    let page = String::from_utf8_lossy(&bytes).replacen(MARKER, &banner, 1);
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(page))))
}
