//! High-entropy credentials in two forms (crates.io's `PlainToken`/`HashedToken`): the plain
//! value, which is shown once when minted or read from a request and is never stored or
//! logged, and its hash, the only form the store takes and looks up. A marker type says which
//! credential it is, so a refresh token's hash cannot be looked up as an authorization code's.
//!
//! The hash is lower-case hex SHA-256, computed in one place ([`Plain::hash`]): a slow password
//! hash buys nothing against 256-bit randomness (RFC 9700 §4.14 asks only that such secrets
//! cannot be guessed or recovered from storage).

use std::fmt;
use std::marker::PhantomData;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::crypto;

/// Which credential a [`Plain`] or [`Hashed`] value is.
pub trait Kind {
    /// For `Debug` output.
    const NAME: &'static str;
}

/// The credential kinds.
pub mod kind {
    macro_rules! kinds {
        ($($(#[$doc:meta])* $name:ident = $shown:literal;)*) => {$(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}
            impl super::Kind for $name {
                const NAME: &'static str = $shown;
            }
        )*};
    }

    kinds! {
        /// An API key's secret (`mg_key_…`).
        ApiKey = "api key";
        /// An opaque OAuth access token (`mg_token_…`).
        AccessToken = "access token";
        /// An OAuth refresh token (`mg_refresh_…`).
        RefreshToken = "refresh token";
        /// An authorization code (RFC 6749 §4.1.2).
        AuthCode = "authorization code";
        /// An RFC 8628 device code.
        DeviceCode = "device code";
        /// The browser session cookie's value.
        SessionId = "session id";
        /// A confidential client's secret (`mg_secret_…`).
        ClientSecret = "client secret";
        /// A pending sign-in's id, in its short-lived cookie.
        FlowId = "sign-in flow id";
        /// One of the recovery codes given at TOTP enrolment.
        RecoveryCode = "recovery code";
        /// The id of a SAML message kept in the inbox (`crate::saml::inbox`).
        SamlInboxId = "SAML inbox id";
        /// An organisation's SCIM bearer token (`mg_scim_…`).
        ScimToken = "SCIM token";
        /// Account self-service (issue #14): a single-use link's secret sent by e-mail
        /// (password reset, e-mail confirmation).
        EmailLink = "e-mail link";
    }
}

/// A credential as minted or presented. Its `Debug` shows only the kind; read it with
/// [`Plain::expose`] where it is shown (once) or compared, nowhere else.
pub struct Plain<K: Kind> {
    secret: SecretString,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Plain<K> {
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            secret: SecretString::from(value.into()),
            kind: PhantomData,
        }
    }

    /// The value itself: for the one answer that shows it, or the request that carries it.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// What is stored and looked up instead of the credential.
    pub fn hash(&self) -> Hashed<K> {
        Hashed::from_stored(crypto::sha256_hex(self.expose()))
    }
}

/// So code that shows a secret once reads it the way it reads any `secrecy` secret.
impl<K: Kind> ExposeSecret<str> for Plain<K> {
    fn expose_secret(&self) -> &str {
        self.expose()
    }
}

impl<K: Kind> Clone for Plain<K> {
    fn clone(&self) -> Self {
        Self {
            secret: self.secret.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Kind> fmt::Debug for Plain<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plain<{}>([REDACTED])", K::NAME)
    }
}

/// Read from a request body or query (a presented credential).
impl<'de, K: Kind> Deserialize<'de> for Plain<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// The SHA-256 of a credential (lower-case hex): the only form stored.
pub struct Hashed<K: Kind> {
    hex: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Hashed<K> {
    /// A hash as read back from the database.
    pub fn from_stored(hex: String) -> Self {
        Self {
            hex,
            kind: PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.hex
    }

    /// Compares in time independent of where the hashes differ.
    pub fn matches(&self, other: &Hashed<K>) -> bool {
        crypto::ct_eq(self.hex.as_bytes(), other.hex.as_bytes())
    }
}

impl<K: Kind> Clone for Hashed<K> {
    fn clone(&self) -> Self {
        Self::from_stored(self.hex.clone())
    }
}

impl<K: Kind> PartialEq for Hashed<K> {
    fn eq(&self, other: &Self) -> bool {
        self.hex == other.hex
    }
}

impl<K: Kind> Eq for Hashed<K> {}

/// Against a digest computed by hand (tests).
impl<K: Kind> PartialEq<String> for Hashed<K> {
    fn eq(&self, other: &String) -> bool {
        self.hex == *other
    }
}

impl<K: Kind> std::hash::Hash for Hashed<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.hex.hash(state);
    }
}

/// The stored form, in full (a hash is no secret: it cannot be presented).
impl<K: Kind> fmt::Display for Hashed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

impl<K: Kind> fmt::Debug for Hashed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.hex.chars().take(8).collect();
        write!(f, "Hashed<{}>({shown}…)", K::NAME)
    }
}

pub type PlainApiKey = Plain<kind::ApiKey>;
pub type HashedApiKey = Hashed<kind::ApiKey>;
pub type PlainAccessToken = Plain<kind::AccessToken>;
pub type HashedAccessToken = Hashed<kind::AccessToken>;
pub type PlainRefreshToken = Plain<kind::RefreshToken>;
pub type HashedRefreshToken = Hashed<kind::RefreshToken>;
pub type PlainAuthCode = Plain<kind::AuthCode>;
pub type HashedAuthCode = Hashed<kind::AuthCode>;
pub type PlainDeviceCode = Plain<kind::DeviceCode>;
pub type HashedDeviceCode = Hashed<kind::DeviceCode>;
pub type PlainSessionId = Plain<kind::SessionId>;
pub type HashedSessionId = Hashed<kind::SessionId>;
pub type PlainClientSecret = Plain<kind::ClientSecret>;
pub type HashedClientSecret = Hashed<kind::ClientSecret>;
pub type PlainFlowId = Plain<kind::FlowId>;
pub type HashedFlowId = Hashed<kind::FlowId>;
pub type PlainRecoveryCode = Plain<kind::RecoveryCode>;
pub type HashedRecoveryCode = Hashed<kind::RecoveryCode>;
pub type PlainSamlInboxId = Plain<kind::SamlInboxId>;
pub type HashedSamlInboxId = Hashed<kind::SamlInboxId>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_hex_sha256_and_debug_never_shows_the_secret() {
        let plain = PlainRefreshToken::new("abc");
        assert_eq!(
            plain.hash().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!format!("{plain:?}").contains("abc"));
        assert!(plain.hash().matches(&PlainRefreshToken::new("abc").hash()));
        assert!(!plain.hash().matches(&PlainRefreshToken::new("abd").hash()));
        let read: PlainAuthCode = serde_json::from_str(r#""xyz""#).unwrap();
        assert_eq!(read.expose(), "xyz");
    }
}
