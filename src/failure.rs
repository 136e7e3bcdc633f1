//! The kinds of failure every protocol shares, so that pages, OAuth endpoints, `/v1` and
//! userinfo agree on the status of each (the table is `Failure::status`, in `web::error`, where
//! actix's status type lives). Plain Rust: domain error types classify themselves by it without
//! importing the web layer.

use crate::store::StoreError;

/// What went wrong, in the terms every protocol shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request is malformed, or holds a value the database cannot store.
    BadRequest,
    /// No valid credential.
    Unauthenticated,
    /// A valid credential (or session) without the right to this.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    /// Well-formed, but a value is not acceptable.
    Unprocessable,
    TooManyRequests,
    /// The database cannot be reached: the request and the code are fine and trying again
    /// later will work, so 503 with `Retry-After` (RFC 9110 §15.6.4), never a 500.
    Unavailable,
    /// A fault on our side; the cause is logged, the answer says nothing of it.
    Internal,
}

/// Seconds a client is asked to wait after a 503 (RFC 9110 §10.2.3 `Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER: &str = "5";

impl Failure {
    /// A storage error that reaches an answer. `NotFound` and `Conflict` are a service's to
    /// turn into its own errors where it expects them (an unknown key, a taken name); one that
    /// gets this far is a fault like any other backend error.
    pub fn of_store(e: &StoreError) -> Self {
        match e {
            StoreError::Unstorable => Failure::BadRequest,
            StoreError::Unavailable(_) => Failure::Unavailable,
            StoreError::NotFound | StoreError::Conflict(_) | StoreError::Backend(_) => {
                Failure::Internal
            }
        }
    }
}
