//! OAuth 2.0 errors. The variants are the registered codes; `as_str()` is the wire value.

use std::borrow::Cow;
use std::fmt;

use crate::failure::Failure;
use crate::store::StoreError;

/// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 8628 §3.5 and OIDC Core §3.1.2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (401 with `WWW-Authenticate` at the token endpoint).
    InvalidClient,
    /// The grant (code, refresh token, device code) is invalid, expired, revoked, or was issued
    /// to another client or redirect URI.
    InvalidGrant,
    /// The client may not use this grant type or response type.
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2: the requested resource is invalid, missing, unknown or malformed.
    InvalidTarget,
    /// The resource owner or the server denied the request.
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    /// OpenID Connect Unmet Authentication Requirements 1.0: the `acr` asked for cannot be met.
    UnmetAuthenticationRequirements,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    InvalidToken,
    InsufficientScope,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<StoreError> for OAuthError {
    /// A value the database cannot hold (a NUL) is the request's fault: `invalid_request`
    /// (§5.2), not logged. Client authentication answers `invalid_client` instead
    /// (`clients::authenticate`). An outage is `temporarily_unavailable`, anything else
    /// `server_error`; the status of each is the one table's ([`Failure::of_store`]).
    fn from(e: StoreError) -> Self {
        match Failure::of_store(&e) {
            Failure::BadRequest => {
                OAuthError::invalid_request("a parameter contains a character that is not allowed")
            }
            failure => {
                tracing::error!(error = %e, "storage failed during an OAuth request");
                if failure == Failure::Unavailable {
                    OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the service is temporarily unavailable",
                    )
                } else {
                    OAuthError::server_error()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text the database cannot store is the request's fault (RFC 6749 §5.2 `invalid_request`);
    /// a failing database is still `server_error`.
    #[test]
    fn unstorable_input_is_invalid_request() {
        let e = OAuthError::from(crate::store::StoreError::Unstorable);
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = OAuthError::from(crate::store::StoreError::Backend("x".into()));
        assert_eq!(e.code, ErrorCode::ServerError);
    }
}
