//! Sign-in as a stored flow (issue #10; Hydra's login challenge, Kanidm's auth session): a
//! pending sign-in lives on the server under a random id kept in a short-lived cookie, holds
//! what was asked and what is done, and resumes what sent the user to sign in (an
//! authorization request stored whole, or a page). [`service::next_step`] decides, purely,
//! what comes next; the factors to come (TOTP, passkeys) are further steps of the same flow.

pub mod service;
pub mod store;
pub mod types;

#[cfg(test)]
mod tests;
