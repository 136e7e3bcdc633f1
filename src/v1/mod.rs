//! The `/v1` JSON API: API keys, applications, verification.

pub mod error;
pub mod http;
pub mod openapi;
