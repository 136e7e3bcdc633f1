//! mintgate: an OAuth 2.0 / OpenID Connect identity provider.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod accounts;
pub mod apikeys;
pub mod audit;
pub mod audit_log;
pub mod authn;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod deprovision;
pub mod failure;
pub mod federation;
pub mod flows;
pub mod groups;
pub mod ids;
pub mod mail;
pub mod members;
pub mod mfa;
pub mod netaddr;
pub mod oauth;
pub mod oidc;
pub mod ops;
pub mod routes;
pub mod saml;
pub mod saml_idp;
pub mod scim;
pub mod scopes;
pub mod secrets;
pub mod selfservice;
pub mod sessions;
pub mod signing;
pub mod startup;
pub mod store;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod v1;
pub mod web;
