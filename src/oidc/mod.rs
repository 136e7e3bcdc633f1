//! OpenID Connect: signing keys and JWKS, discovery, ID tokens, userinfo, logout.

pub mod discovery;
pub mod http;
pub mod keys;
pub mod logout;
