//! The neutral HTTP toolkit: application state, path constants, extractors (the `/v1`
//! [`caller::Caller`] among them), the error table and the page error type, cookies, CSRF and
//! the client address. It imports no domain's handlers; the route table is assembled above
//! it, in [`crate::routes`].

pub mod caller;
pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extractors;
pub mod nav;
pub mod paths;
pub mod state;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::Next;
use askama::Template;

use actix_web::HttpResponse;
use actix_web::http::header;

/// Gives a readable body to client errors that actix answers with none (405, payload errors).
pub async fn fill_error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let empty = matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Sized(0) | actix_web::body::BodySize::None
    );
    if !(status.is_client_error() && empty) {
        return Ok(res);
    }
    let message = status
        .canonical_reason()
        .unwrap_or("The request was not accepted.");
    let html = error::ErrorPage::html(status, message);
    Ok(res.map_body(|head, _| {
        head.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        BoxBody::new(html)
    }))
}

/// Renders a page template into an HTML response.
pub fn html(
    mut builder: actix_web::HttpResponseBuilder,
    template: &impl Template,
) -> Result<actix_web::HttpResponse, error::WebError> {
    let body = template.render()?;
    Ok(builder.content_type("text/html; charset=utf-8").body(body))
}

/// Runs `f`, whose store calls only read: right here on SQLite (see
/// [`crate::store::Store::inline_reads`]), on the blocking pool on PostgreSQL.
pub async fn read<T, F>(
    st: actix_web::web::Data<state::AppState>,
    f: F,
) -> Result<T, actix_web::error::BlockingError>
where
    F: FnOnce(&state::AppState) -> T + Send + 'static,
    T: Send + 'static,
{
    if st.store.reads_inline() {
        Ok(st.store.inline_reads(|| f(&st)))
    } else {
        actix_web::web::block(move || f(&st)).await
    }
}

/// 303 See Other: after a POST the browser follows with a GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `/login?return_to=...` for a page that needs a signed-in user.
/// The organisation picker's address, coming back to `return_to` once one is chosen.
pub fn picker_url(return_to: &str) -> String {
    format!(
        "{}?{}",
        paths::ACCOUNT_ORGANISATION,
        serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default()
    )
}

pub fn login_redirect(return_to: &str) -> HttpResponse {
    login_redirect_with(return_to, false, None)
}

/// The same, forcing the form even when signed in (`prompt=login`, `max_age`) and pre-filling
/// the login (`login_hint`).
pub fn login_redirect_with(
    return_to: &str,
    reauth: bool,
    login_hint: Option<&str>,
) -> HttpResponse {
    see_other(&login_url_with(return_to, reauth, login_hint))
}

/// The address [`login_redirect_with`] sends to, for a script to go to (a JSON answer).
pub fn login_url_with(return_to: &str, reauth: bool, login_hint: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if reauth {
        query.append_pair("reauth", "1");
    }
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    format!("{}?{}", paths::LOGIN, query.finish())
}
