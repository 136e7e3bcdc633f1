//! mintgate as SAML 2.0 identity provider (issue #12, IdP half): the service providers
//! ("SAML apps") it signs users in to, its metadata, the single sign-on service and the signed
//! Responses it posts back. The wire toolkit shared with the SP role is `crate::saml`.

pub mod apps;
pub mod error;
pub mod http;
pub mod metadata;
pub mod request;
pub mod response;
pub mod service;
pub mod store;
pub mod types;
pub mod xml;
