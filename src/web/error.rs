//! The one table from failures to HTTP statuses ([`Failure`]), and the error type of the
//! browser pages and operational endpoints ([`WebError`]).
//!
//! Every protocol keeps its own body — a page here, the RFC 6749 JSON at the OAuth endpoints,
//! the RFC 6750 JSON at userinfo, the `{error, message, code}` JSON on `/v1` — but each says
//! what kind of [`Failure`] its error is, and the status (and the headers that go with it, such
//! as `Retry-After` on a 503) come from here. A storage error is classified once, by
//! [`Failure::of_store`], so a database outage is a 503 everywhere and a value the database
//! cannot hold is a 400 everywhere.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

use crate::failure::{Failure, UNAVAILABLE_RETRY_AFTER};
use crate::store::StoreError;

/// The status of each kind of failure: inherent methods of [`Failure`], kept here because
/// they speak actix's types while the kinds themselves are plain Rust.
impl Failure {
    /// The table.
    pub const fn status(self) -> StatusCode {
        match self {
            Failure::BadRequest => StatusCode::BAD_REQUEST,
            Failure::Unauthenticated => StatusCode::UNAUTHORIZED,
            Failure::Forbidden => StatusCode::FORBIDDEN,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Failure::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A response with this status and the headers every answer of this kind carries,
    /// whatever its body: `Retry-After` on a 503.
    pub fn response(self) -> HttpResponseBuilder {
        let mut res = HttpResponse::build(self.status());
        if self == Failure::Unavailable {
            res.insert_header((RETRY_AFTER, UNAVAILABLE_RETRY_AFTER));
        }
        res
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("This page does not exist.")]
    NotFound,
    #[error("You do not have permission to see this page.")]
    Forbidden,
    /// An organisation of the user requires a second factor this session did not use: nothing
    /// that hands out credentials acts for it.
    #[error(
        "Your organisation requires a second factor. Set one up in Settings > Security, or sign out and sign in again with it, then come back."
    )]
    SecondFactorRequired,
    #[error("The request is too large.")]
    PayloadTooLarge,
    #[error(
        "This form has expired or did not come from this site. Go back, reload the page and try again."
    )]
    Csrf,
    #[error("Too many attempts. Try again in {retry_after} seconds.")]
    TooManyRequests { retry_after: u64 },
    #[error("The service is temporarily unavailable.")]
    Unavailable,
    #[error("Something went wrong on our side.")]
    Internal(String),
    /// The page acts in the session's organisation and the user, in several, has none active:
    /// a redirect to the organisation picker, coming back to `return_to`.
    #[error("Choose an organisation first.")]
    ChooseOrganisation { return_to: String },
}

/// What a page says when the database refused a value of the request (a NUL, say).
pub const UNSTORABLE: &str = "The request contains a character that is not allowed.";

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match Failure::of_store(&e) {
            Failure::Unavailable => WebError::Unavailable,
            Failure::BadRequest => WebError::BadRequest(UNSTORABLE.into()),
            _ => WebError::Internal(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

impl ErrorPage<'_> {
    pub fn html(status: StatusCode, message: &str) -> String {
        let page = ErrorPage {
            title: status.canonical_reason().unwrap_or("Error"),
            message,
        };
        page.render().unwrap_or_else(|_| message.to_owned())
    }
}

impl WebError {
    pub fn failure(&self) -> Failure {
        match self {
            WebError::BadRequest(_) | WebError::ChooseOrganisation { .. } => Failure::BadRequest,
            WebError::NotFound => Failure::NotFound,
            WebError::Forbidden | WebError::Csrf | WebError::SecondFactorRequired => {
                Failure::Forbidden
            }
            WebError::PayloadTooLarge => Failure::PayloadTooLarge,
            WebError::TooManyRequests { .. } => Failure::TooManyRequests,
            WebError::Unavailable => Failure::Unavailable,
            WebError::Internal(_) => Failure::Internal,
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::ChooseOrganisation { .. } => StatusCode::SEE_OTHER,
            _ => self.failure().status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::ChooseOrganisation { return_to } = self {
            return super::see_other(&super::picker_url(return_to));
        }
        if let WebError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status_code();
        let mut res = self.failure().response();
        if let WebError::TooManyRequests { retry_after } = self {
            res.insert_header((RETRY_AFTER, retry_after.to_string()));
        }
        res.insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(ErrorPage::html(status, &self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text the database cannot store is the request's fault: a 400 page.
    #[test]
    fn unstorable_input_is_a_bad_request() {
        let e = WebError::from(StoreError::Unstorable);
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(e.to_string(), UNSTORABLE);
    }

    /// Every kind of storage error, made afresh for each protocol (`StoreError` is not `Clone`).
    const STORE_ERRORS: [fn() -> StoreError; 5] = [
        || StoreError::NotFound,
        || StoreError::Conflict(crate::store::Unique::Record),
        || StoreError::Backend("x".into()),
        || StoreError::Unavailable("down".into()),
        || StoreError::Unstorable,
    ];

    /// A storage error gets the same status on the pages, at the OAuth endpoints and on `/v1`:
    /// the table's (userinfo's test is beside it, `oidc::http`).
    #[test]
    fn every_protocol_answers_a_store_error_with_the_tables_status() {
        use crate::oauth::error::OAuthError;
        use crate::v1::error::V1Error;
        for make in STORE_ERRORS {
            let expected = Failure::of_store(&make()).status();
            let e = make();
            assert_eq!(WebError::from(make()).status_code(), expected, "page: {e}");
            assert_eq!(
                OAuthError::from(make()).status_code(),
                expected,
                "oauth: {e}"
            );
            assert_eq!(V1Error::from(make()).status_code(), expected, "v1: {e}");
        }
    }

    /// A database outage is 503 with `Retry-After` on the pages, the OAuth endpoints and `/v1`
    /// alike.
    #[test]
    fn an_outage_is_503_with_retry_after_everywhere() {
        let down = || StoreError::Unavailable("down".into());
        let answers = [
            WebError::from(down()).error_response(),
            crate::oauth::error::OAuthError::from(down()).error_response(),
            crate::v1::error::V1Error::from(down()).error_response(),
        ];
        for res in answers {
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                res.headers().get(RETRY_AFTER).unwrap(),
                UNAVAILABLE_RETRY_AFTER
            );
        }
    }
}
