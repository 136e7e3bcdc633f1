//! The `/v1` error body: `{"error", "message", "code"}` (+ `required_scope`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::apikeys::service::ApiKeyError;
use crate::failure::Failure;
use crate::scopes::SCOPE_ADMIN;
use crate::store::StoreError;

/// The body of every `/v1` error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `bad_request`, `not_found`, `unprocessable_entity`,
    /// `payload_too_large`, `method_not_allowed`.
    pub error: &'static str,
    pub message: String,
    /// `AUTH_INVALID_KEY`, `AUTH_INSUFFICIENT_SCOPE`, `AUTH_IP_NOT_ALLOWED`,
    /// `INVALID_REQUEST`, `NOT_FOUND`, `VALIDATION_FAILED`, `PAYLOAD_TOO_LARGE`,
    /// `METHOD_NOT_ALLOWED`, `SERVICE_UNAVAILABLE`.
    pub code: &'static str,
    /// With `AUTH_INSUFFICIENT_SCOPE`: the scope the operation needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum V1Error {
    #[error("Invalid or expired API key")]
    Unauthorized,
    #[error("Insufficient permissions for this operation")]
    InsufficientScope(String),
    #[error("Requests from this address are not allowed for this key")]
    IpNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error("Not found")]
    NotFound,
    #[error("The request body is too large")]
    PayloadTooLarge,
    #[error("This method is not allowed here")]
    MethodNotAllowed,
    #[error("{0}")]
    Unprocessable(String),
    /// The database cannot be reached: 503, like the pages and the OAuth endpoints.
    #[error("The service is temporarily unavailable")]
    Unavailable(String),
    #[error("Internal error")]
    Internal(String),
}

impl From<ApiKeyError> for V1Error {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::Invalid => V1Error::Unauthorized,
            ApiKeyError::IpNotAllowed => V1Error::IpNotAllowed,
            ApiKeyError::InsufficientScope(s) => V1Error::InsufficientScope(s),
            ApiKeyError::NotYours => V1Error::InsufficientScope(SCOPE_ADMIN.to_owned()),
            ApiKeyError::NotFound => V1Error::NotFound,
            ApiKeyError::Validation(m) => V1Error::Unprocessable(m),
            ApiKeyError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for V1Error {
    fn from(e: StoreError) -> Self {
        match (Failure::of_store(&e), e) {
            (Failure::BadRequest, _) => {
                V1Error::BadRequest("The request contains a character that is not allowed".into())
            }
            (Failure::Unavailable, e) => V1Error::Unavailable(e.to_string()),
            (_, e) => V1Error::Internal(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for V1Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        V1Error::Internal(e.to_string())
    }
}

impl V1Error {
    pub fn failure(&self) -> Failure {
        match self {
            V1Error::Unauthorized => Failure::Unauthenticated,
            V1Error::InsufficientScope(_) | V1Error::IpNotAllowed => Failure::Forbidden,
            V1Error::BadRequest(_) => Failure::BadRequest,
            V1Error::NotFound => Failure::NotFound,
            V1Error::PayloadTooLarge => Failure::PayloadTooLarge,
            V1Error::MethodNotAllowed => Failure::MethodNotAllowed,
            V1Error::Unprocessable(_) => Failure::Unprocessable,
            V1Error::Unavailable(_) => Failure::Unavailable,
            V1Error::Internal(_) => Failure::Internal,
        }
    }
}

impl ResponseError for V1Error {
    fn status_code(&self) -> StatusCode {
        self.failure().status()
    }

    fn error_response(&self) -> HttpResponse {
        let (error, code) = match self {
            V1Error::Unauthorized => ("unauthorized", "AUTH_INVALID_KEY"),
            V1Error::InsufficientScope(_) => ("forbidden", "AUTH_INSUFFICIENT_SCOPE"),
            V1Error::IpNotAllowed => ("forbidden", "AUTH_IP_NOT_ALLOWED"),
            V1Error::BadRequest(_) => ("bad_request", "INVALID_REQUEST"),
            V1Error::NotFound => ("not_found", "NOT_FOUND"),
            V1Error::PayloadTooLarge => ("payload_too_large", "PAYLOAD_TOO_LARGE"),
            V1Error::MethodNotAllowed => ("method_not_allowed", "METHOD_NOT_ALLOWED"),
            V1Error::Unprocessable(_) => ("unprocessable_entity", "VALIDATION_FAILED"),
            V1Error::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable on /v1");
                ("service_unavailable", "SERVICE_UNAVAILABLE")
            }
            V1Error::Internal(cause) => {
                tracing::error!(%cause, "internal error on /v1");
                ("internal_error", "INTERNAL")
            }
        };
        let required_scope = match self {
            V1Error::InsufficientScope(scope) => Some(scope.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error,
            message: self.to_string(),
            code,
            required_scope,
        };
        let mut res = self.failure().response();
        if matches!(self, V1Error::Unauthorized) {
            res.insert_header((WWW_AUTHENTICATE, r#"Bearer realm="mintgate""#));
        }
        res.json(body)
    }
}

/// Client errors answered on `/v1` before a handler ran (actix's 413 for an oversized body, 405
/// for a method a route lacks, 400 for an unreadable path) get the `/v1` body like every other
/// `/v1` error, so a client parses one shape. Headers such as `Allow` are kept.
pub async fn json_error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !status.is_client_error() {
        return Ok(res);
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => V1Error::PayloadTooLarge,
        StatusCode::METHOD_NOT_ALLOWED => V1Error::MethodNotAllowed,
        StatusCode::NOT_FOUND => V1Error::NotFound,
        StatusCode::UNAUTHORIZED => V1Error::Unauthorized,
        other => V1Error::BadRequest(
            other
                .canonical_reason()
                .unwrap_or("The request was not accepted")
                .to_owned(),
        ),
    };
    let replacement = error.error_response();
    // The status stays what actix chose; the body and its headers are the `/v1` ones.
    Ok(res.map_body(|head, _| {
        for (name, value) in replacement.headers() {
            head.headers_mut().insert(name.clone(), value.clone());
        }
        replacement.into_body()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::RETRY_AFTER;

    /// Text the database cannot store is the request's fault: 400 `INVALID_REQUEST`.
    #[test]
    fn unstorable_input_is_a_bad_request() {
        let e = V1Error::from(StoreError::Unstorable);
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        assert!(matches!(e, V1Error::BadRequest(_)));
        let e = V1Error::from(ApiKeyError::Store(StoreError::Unstorable));
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        let e = V1Error::from(StoreError::Backend("x".into()));
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// A database outage is 503 with `Retry-After` on `/v1` as on the pages and OAuth
    /// endpoints, not a 500.
    #[test]
    fn an_unreachable_database_is_503() {
        let e = V1Error::from(ApiKeyError::Store(StoreError::Unavailable("down".into())));
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let res = e.error_response();
        assert_eq!(res.headers().get(RETRY_AFTER).unwrap(), "5");
    }
}
