//! What federation's services refuse, in their own terms; `Failure` classifies each.

use crate::failure::Failure;
use crate::federation::dns::DnsError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// Bad input: the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// No such connection or domain claim in this organisation (another organisation's ids
    /// are not found either).
    #[error("no such {0} in this organisation")]
    NotFound(&'static str),
    #[error("no organisation named `{0}`")]
    UnknownOrg(String),
    /// Only an organisation's owners and administrators manage its SSO.
    #[error("only an administrator of the organisation may manage its SSO")]
    NotAdmin,
    /// The session did not use the second factor an organisation of the user requires.
    #[error("your organisation requires a second factor: sign in with one first")]
    SecondFactorRequired,
    /// Another organisation verified the domain first.
    #[error(
        "the domain {0} is already verified by another organisation; a domain belongs to one organisation only"
    )]
    DomainTaken(String),
    /// The DNS record does not hold the challenge (or could not be read).
    #[error("{0}")]
    NotVerified(String),
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FederationError {
    pub fn failure(&self) -> Failure {
        match self {
            FederationError::Invalid(_) => Failure::BadRequest,
            FederationError::NotFound(_) | FederationError::UnknownOrg(_) => Failure::NotFound,
            FederationError::NotAdmin | FederationError::SecondFactorRequired => Failure::Forbidden,
            FederationError::DomainTaken(_)
            | FederationError::NotVerified(_)
            | FederationError::Dns(_) => Failure::Unprocessable,
            FederationError::Store(e) => Failure::of_store(e),
        }
    }
}
