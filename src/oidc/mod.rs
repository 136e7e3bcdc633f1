//! OpenID Connect: JWKS, discovery, ID tokens, userinfo, logout.

pub mod claims;
pub mod discovery;
pub mod http;
pub mod logout;
pub mod userinfo;
