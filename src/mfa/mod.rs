//! Factors beyond a password (issue #10): TOTP codes with recovery codes, and WebAuthn
//! passkeys, as second factors after a password or (a passkey verifying the user) on their own.
//! What the sign-in flow needs to know of them is [`types::Factors`].

pub mod http;
pub mod passkey_http;
pub mod passkey_signin;
pub mod passkeys;
pub mod reauth;
pub mod recovery;
pub mod store;
pub mod totp;
pub mod totp_http;
pub mod totp_service;
pub mod types;

#[cfg(test)]
mod passkey_tests;
#[cfg(test)]
mod totp_tests;
