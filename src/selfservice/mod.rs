//! Account self-service (issue #14): the signed-in user's password, sessions, name and e-mail
//! address, and "forgot password" from the sign-in page.

pub mod email;
pub mod error;
pub mod http;
pub mod mail;
pub mod profile_http;
pub mod reset;
pub mod reset_http;
pub mod service;
pub mod store;
pub mod types;
