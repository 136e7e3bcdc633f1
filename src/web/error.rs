//! The one error type of the browser pages and operational endpoints. Protocol endpoints
//! (OAuth, `/v1`) render their own standard bodies.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("This page does not exist.")]
    NotFound,
    #[error("You do not have permission to see this page.")]
    Forbidden,
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
}

/// What a page says when the database refused a value of the request (a NUL, say).
pub const UNSTORABLE: &str = "The request contains a character that is not allowed.";

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => WebError::Unavailable,
            StoreError::Unstorable => WebError::BadRequest(UNSTORABLE.into()),
            other => WebError::Internal(other.to_string()),
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

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status_code();
        let mut res = HttpResponse::build(status);
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
}
