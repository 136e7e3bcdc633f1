//! Users, organisations and memberships; password sign-in.

pub mod http;
pub mod password;
pub mod service;
pub mod throttle;
pub mod types;
