//! SCIM 2.0 provisioning (RFC 7643, RFC 7644; issue #13): an organisation's identity provider
//! (Okta, Microsoft Entra ID...) creates, updates and deprovisions the organisation's managed
//! accounts and SCIM groups with a per-organisation bearer token.
//!
//! `filter`, `patch`, `resource`, `discovery` and `error` are pure protocol code (no actix, no
//! diesel); `store` is the storage this domain needs; `service` the logic; `http` the handlers.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod http;
pub mod patch;
pub mod query;
pub mod resource;
pub mod service;
pub mod store;

pub use error::{ScimError, ScimType};
