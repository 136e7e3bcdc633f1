//! Scopes: the set type of RFC 6749 §3.3, and the API's permission scopes with what each role
//! may hold. OAuth grants and API keys both limit what they give by these, so they live here,
//! in a module of their own that neither imports.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::accounts::types::Role;

/// A set of scope tokens (RFC 6749 §3.3), kept sorted so it prints the same every time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-separated list; `None` if a token has a character §3.3 forbids.
    pub fn parse(s: &str) -> Option<Self> {
        let mut set = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            let ok = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !ok || token.len() > 128 {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Self(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

impl From<Scopes> for String {
    fn from(s: Scopes) -> String {
        s.to_string()
    }
}

/// The scopes mintgate knows. `admin` implies every other scope.
pub const API_SCOPES: [&str; 8] = [
    "read:evaluations",
    "write:evaluations",
    "read:policies",
    "write:policies",
    "read:org",
    "write:org",
    "ci",
    "admin",
];
pub const SCOPE_ADMIN: &str = "admin";

/// What a role may do: owners and admins everything, members `read:*` and `write:evaluations`.
pub fn role_scopes(role: Role) -> Scopes {
    match role {
        Role::Owner | Role::Admin => Scopes::parse(&API_SCOPES.join(" ")).unwrap_or_default(),
        Role::Member => Scopes::parse("read:evaluations read:policies read:org write:evaluations")
            .unwrap_or_default(),
    }
}

/// `required` is held directly or through `admin`.
pub fn holds(scopes: &Scopes, required: &str) -> bool {
    scopes.contains(required) || scopes.contains(SCOPE_ADMIN)
}

/// Every scope of `wanted` is held by `held`.
pub fn holds_all(held: &Scopes, wanted: &Scopes) -> bool {
    wanted.iter().all(|s| holds(held, s))
}

/// Effective scopes: the key's own, limited to what its creator may do now.
pub fn effective(key: &Scopes, creator: &Scopes) -> Scopes {
    if creator.contains(SCOPE_ADMIN) {
        return key.clone();
    }
    Scopes::parse(
        &key.iter()
            .filter(|s| holds(creator, s))
            .collect::<Vec<_>>()
            .join(" "),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print_sorted() {
        let s = Scopes::parse("openid  email profile").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(Scopes::parse("bad\"quote").is_none());
        assert!(Scopes::parse("back\\slash").is_none());
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn admin_implies_everything_and_effective_scopes_shrink() {
        let admin = Scopes::parse("admin").unwrap();
        assert!(holds(&admin, "write:policies"));
        let member = role_scopes(Role::Member);
        assert!(!holds(&member, "write:org"));
        let key = Scopes::parse("read:org write:org").unwrap();
        assert_eq!(effective(&key, &member).to_string(), "read:org");
        assert_eq!(
            effective(&key, &role_scopes(Role::Owner)).to_string(),
            "read:org write:org"
        );
    }
}
