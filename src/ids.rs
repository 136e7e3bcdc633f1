//! Typed identifiers: one type per kind of record, so a user id cannot be passed where an
//! organisation id is expected (`remove_membership(org, user)` with its arguments swapped does
//! not compile). Each serialises as the bare string or number it wraps (`#[serde(transparent)]`),
//! so JSON, pages and the database see exactly what they saw before.
//!
//! A neutral module: every domain and `store/` import it, it imports only [`crate::crypto`].
//! Conversion to and from database columns happens in `store/`, where the rows stay private.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::crypto;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// An id as stored or as presented; whether it names anything is the store's answer.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Read as the text it is (comparisons, `Option::as_deref`); passing one where another
        /// kind of id is expected still does not compile.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

/// Generated ids: a prefix and 20 base62 characters ([`crypto::new_id`]).
macro_rules! generated {
    ($name:ident, $prefix:literal) => {
        impl $name {
            /// A fresh random id with this kind's prefix.
            pub fn generate() -> Self {
                Self(crypto::new_id($prefix))
            }
        }
    };
}

string_id!(
    /// A user (`usr_…`).
    UserId
);
generated!(UserId, "usr");

string_id!(
    /// An organisation (`org_…`).
    OrgId
);
generated!(OrgId, "org");

string_id!(
    /// A group of users in an organisation (`grp_…`).
    GroupId
);
generated!(GroupId, "grp");

string_id!(
    /// An OAuth client (`mg_client_…`, or a fixed id chosen by the operator such as
    /// `mintgate-cli`).
    ClientId
);
generated!(ClientId, "mg_client");

string_id!(
    /// An API key (`key_…`); not its secret, which is a [`crate::credentials::PlainApiKey`].
    KeyId
);
generated!(KeyId, "key");

string_id!(
    /// An OAuth grant: the family of codes and tokens one authorization produced (`gr_…`).
    GrantId
);
generated!(GrantId, "gr");

string_id!(
    /// An organisation's SSO connection to an upstream identity provider (`conn_…`).
    ConnectionId
);
generated!(ConnectionId, "conn");

string_id!(
    /// A service provider mintgate signs users in to as SAML identity provider (`sapp_…`).
    SamlAppId
);
generated!(SamlAppId, "sapp");

string_id!(
    /// A browser session's public identifier (the OIDC `sid` claim): random, unrelated to the
    /// session cookie, whose value is a [`crate::credentials::PlainSessionId`] and is stored
    /// only hashed.
    Sid
);

impl Sid {
    /// 256 random bits, base64url.
    pub fn generate() -> Self {
        Self(crypto::random_token())
    }
}

/// An application (a numeric id the database assigns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApplicationId(i64);

impl ApplicationId {
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ApplicationId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_what_they_wrap() {
        let user = UserId::new("usr_abc");
        assert_eq!(serde_json::to_string(&user).unwrap(), r#""usr_abc""#);
        assert_eq!(user.to_string(), "usr_abc");
        let app = ApplicationId::new(7);
        assert_eq!(serde_json::to_string(&app).unwrap(), "7");
        assert_eq!("7".parse::<ApplicationId>().unwrap(), app);
        assert!(UserId::generate().as_str().starts_with("usr_"));
        assert!(ClientId::generate().as_str().starts_with("mg_client_"));
        assert_eq!(KeyId::generate().as_str().len(), "key_".len() + 20);
    }
}
