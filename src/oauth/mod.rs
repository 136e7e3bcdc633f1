//! The OAuth 2.0 authorization server: clients, the authorization endpoint, grants at the token
//! endpoint, introspection and revocation. Written directly rather than on oxide-auth, which
//! has no OpenID Connect (no ID token in its token response) and no release since 2024.

pub mod apps_http;
pub mod authorize;
pub mod clients;
pub mod consent;
pub mod device;
pub mod device_http;
pub mod error;
pub mod grantable;
pub mod grants;
pub mod http;
pub mod introspect;
pub mod org_clients;
pub mod pkce;
pub mod resources;
pub mod store;
pub mod tenancy;
pub mod tokens;
pub mod types;

#[cfg(test)]
mod tests;
