//! Why the IdP refused something. No HTTP here: `http.rs` maps each to a page.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SamlIdpError {
    #[error("{0}")]
    Invalid(String),
    #[error("an application with this entity ID is already registered")]
    EntityIdTaken,
    #[error("no such SAML application")]
    NotFound,
    #[error("only an administrator of the organisation can manage its SAML applications")]
    NotAdmin,
    #[error("a second factor is required for this page")]
    SecondFactorRequired,
    /// The AuthnRequest cannot be answered (shown as an error page, never posted anywhere).
    #[error("{0}")]
    Refused(String),
    #[error("the response could not be signed: {0}")]
    Signing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SamlIdpError {
    pub fn invalid(message: impl Into<String>) -> Self {
        SamlIdpError::Invalid(message.into())
    }
}
