//! SCIM 2.0 provisioning (RFC 7643, RFC 7644; issue #13): an organisation's identity provider
//! (Okta, Microsoft Entra ID...) creates, updates and deprovisions the organisation's managed
//! accounts and SCIM groups with a per-organisation bearer token.
//!
//! `filter`, `patch`, `resource`, `query`, `discovery` and `error` are pure protocol code (no
//! actix, no diesel); `store` is the storage this domain needs; `service` (tokens, shared
//! rules), `users` and `groups` the logic; `http` the handlers.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod groups;
pub mod http;
pub mod pages;
pub mod patch;
pub mod query;
pub mod resource;
pub mod service;
pub mod store;
pub mod users;

pub use error::{ScimError, ScimType};
