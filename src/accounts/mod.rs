//! Users, organisations and memberships; password sign-in.

pub mod http;
pub mod members;
pub mod org_admin;
pub mod org_http;
pub mod org_picker;
pub mod password;
pub mod policy;
pub mod service;
pub mod signin;
pub mod store;
pub mod throttle;
pub mod types;

#[cfg(test)]
mod tests;
