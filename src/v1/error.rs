//! The `/v1` error body: `{"error", "message", "code"}` (+ `required_scope`).

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::apikeys::service::ApiKeyError;
use crate::apikeys::types::SCOPE_ADMIN;
use crate::store::StoreError;

/// The body of every `/v1` error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `bad_request`, `not_found`, `unprocessable_entity`.
    pub error: &'static str,
    pub message: String,
    /// `AUTH_INVALID_KEY`, `AUTH_INSUFFICIENT_SCOPE`, `AUTH_IP_NOT_ALLOWED`,
    /// `INVALID_REQUEST`, `NOT_FOUND`, `VALIDATION_FAILED`.
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
    #[error("{0}")]
    Unprocessable(String),
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
        V1Error::Internal(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for V1Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        V1Error::Internal(e.to_string())
    }
}

impl ResponseError for V1Error {
    fn status_code(&self) -> StatusCode {
        match self {
            V1Error::Unauthorized => StatusCode::UNAUTHORIZED,
            V1Error::InsufficientScope(_) | V1Error::IpNotAllowed => StatusCode::FORBIDDEN,
            V1Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            V1Error::NotFound => StatusCode::NOT_FOUND,
            V1Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            V1Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (error, code) = match self {
            V1Error::Unauthorized => ("unauthorized", "AUTH_INVALID_KEY"),
            V1Error::InsufficientScope(_) => ("forbidden", "AUTH_INSUFFICIENT_SCOPE"),
            V1Error::IpNotAllowed => ("forbidden", "AUTH_IP_NOT_ALLOWED"),
            V1Error::BadRequest(_) => ("bad_request", "INVALID_REQUEST"),
            V1Error::NotFound => ("not_found", "NOT_FOUND"),
            V1Error::Unprocessable(_) => ("unprocessable_entity", "VALIDATION_FAILED"),
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
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, V1Error::Unauthorized) {
            res.insert_header((WWW_AUTHENTICATE, r#"Bearer realm="mintgate""#));
        }
        res.json(body)
    }
}
