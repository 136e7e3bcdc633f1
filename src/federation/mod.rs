//! Enterprise federation (issue #11): an organisation's SSO connections to upstream identity
//! providers (OpenID Connect, and SAML 2.0 in `saml_sp` / `saml_http`, issue #12), the e-mail
//! domains that route its people to them, and the external identities linked to users.
//!
//! `types.rs` and `store.rs` are the shared contract; each piece (connections and domains,
//! the upstream OpenID Connect relying party, just-in-time provisioning) lives in its own file.

pub mod connections;
pub mod dns;
pub mod domains;
pub mod error;
pub mod http;
pub mod jit;
pub mod oidc_http;
pub mod oidc_rp;
pub mod oidc_signin;
pub mod policy;
pub mod routing;
pub mod saml_http;
pub mod saml_signin;
pub mod saml_sp;
pub mod signin_http;
pub mod store;
pub mod types;
