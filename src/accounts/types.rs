//! Account types, parsed at the edge so the rest of the code only sees valid values.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};
use crate::store::{StoreError, Unique};

/// A login name: 1–64 characters of letters, digits, `.`, `_`, `-`, starting with a letter or
/// digit. Unique case-insensitively (`key()`), shown as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, AccountInputError> {
        let s = s.trim();
        let ok = (1..=64).contains(&s.chars().count())
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(AccountInputError::Username)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The key stored for this name in `ns` ([`Namespace::stored_key`]).
    pub fn key_in(&self, ns: &Namespace) -> String {
        ns.stored_key(&self.key())
    }
}

/// An e-mail address, checked for shape only (one `@`, no spaces, at most 254 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, AccountInputError> {
        let s = s.trim();
        // A bare address (RFC 5321 `Mailbox`, unquoted): none of RFC 5322's specials, so a
        // display-name form (`ceo <me@evil.example>`) or a list (`a,b@x`) is not taken for one
        // address and delivered to another.
        let ok = s.len() <= 254
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
            && matches!(s.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(AccountInputError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The key stored for this address in `ns` ([`Namespace::stored_key`]).
    pub fn key_in(&self, ns: &Namespace) -> String {
        ns.stored_key(&self.key())
    }
}

/// Where an account's username and e-mail address are unique (see the tenancy migration): the
/// server's namespace (operator-created accounts, `users.home_org` NULL, which may join several
/// organisations) or one organisation's (accounts it manages: created by its SSO, later SCIM
/// and invitations; members of that organisation only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Namespace {
    Server,
    Org(OrgId),
}

impl Namespace {
    pub fn of(home_org: Option<&OrgId>) -> Self {
        home_org.map_or(Namespace::Server, |org| Namespace::Org(org.clone()))
    }

    /// The managing organisation, `None` for a server account.
    pub fn home_org(&self) -> Option<&OrgId> {
        match self {
            Namespace::Server => None,
            Namespace::Org(org) => Some(org),
        }
    }

    /// The one place a stored `username_key` / `email_key` is made: the key itself for the
    /// server, `"<org id> <key>"` for an organisation. No username or address contains a space,
    /// so the columns' UNIQUE constraints hold per namespace, and no key typed at a sign-in
    /// form (looked up in the server namespace only) can name a managed account.
    pub fn stored_key(&self, key: &str) -> String {
        match self {
            Namespace::Server => key.to_owned(),
            Namespace::Org(org) => format!("{} {key}", org.as_str()),
        }
    }
}

/// The key under which a typed login (username or e-mail) is looked up and throttled.
pub fn login_key(login: &str) -> String {
    login.trim().to_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Owners and admins manage the organisation.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl FromStr for Role {
    type Err = AccountInputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(AccountInputError::Role),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub created_at: UnixTime,
    /// Longest API key lifetime in this organisation (seconds), on top of the global limit.
    pub api_key_max_lifetime: Option<i64>,
    /// Whether `?api_key=` is accepted for this organisation's keys.
    pub api_key_legacy_query: bool,
    /// Whether members must sign in with a second factor (they are taken to enrol one).
    pub require_mfa: bool,
    /// Whether members must sign in through the organisation's SSO (owners keep a password).
    pub require_sso: bool,
    /// The organisation's session idle timeout (seconds), when shorter than the server's: a
    /// session acting here ends after this long without a request (see
    /// [`crate::sessions::service::SessionPolicy::within`]). `None`: the server's.
    pub session_idle_timeout: Option<i64>,
    /// The organisation's absolute session lifetime (seconds, counted from the session's
    /// start), when shorter than the server's. `None`: the server's.
    pub session_absolute_timeout: Option<i64>,
}

impl Organisation {
    pub fn new(id: OrgId, name: String, created_at: UnixTime) -> Self {
        Self {
            id,
            name,
            created_at,
            api_key_max_lifetime: None,
            api_key_legacy_query: true,
            require_mfa: false,
            require_sso: false,
            session_idle_timeout: None,
            session_absolute_timeout: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub disabled: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// The organisation managing this account (its namespace), `None` for a server account.
    pub home_org: Option<OrgId>,
    /// Whether the current e-mail address was proven (issue #14): a link sent to it was
    /// followed, or a verified-domain SSO asserted it. `email_verified` in ID tokens and userinfo.
    pub email_verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub org: Organisation,
    pub role: Role,
}

impl Membership {
    /// Whether a session or grant whose sign-in was `amr`, made for `signed_in_for` (the
    /// session's or grant's organisation), may act in this organisation — one rule for sessions,
    /// the organisation picker, grants and their refresh (issue #11):
    /// - a sign-in through an organisation's SSO (`fed`) acts only in the organisation whose
    ///   connection it went through: that IdP never reaches the user's other organisations;
    /// - an organisation that requires SSO admits only such sign-ins, or its owners
    ///   (break-glass), whenever the requirement was set and however the session got there.
    pub fn admits(&self, amr: &[String], signed_in_for: Option<&OrgId>) -> bool {
        if amr.iter().any(|a| a == crate::authn::AMR_FEDERATED) {
            return signed_in_for == Some(&self.org.id);
        }
        !self.org.require_sso || self.role == Role::Owner
    }
}

/// A user row to insert; the password hash is optional so accounts can later exist with only
/// passkeys or an external identity.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub display_name: String,
    pub password_hash: Option<String>,
    /// Whether `email` is already proven (an SSO-asserted address of a verified domain).
    pub email_verified: bool,
    /// Where the username and e-mail are unique; a managed account is made a member of its
    /// organisation in the same transaction ([`NewUser::initial_membership`]).
    pub home: Namespace,
}

impl NewUser {
    /// The membership created with the user: `org` as asked for a server account; for a
    /// managed one, its home organisation (with `org`'s role, member by default), and
    /// [`StoreError::Conflict`]`(`[`Unique::HomeOrganisation`]`)` if `org` names another.
    pub fn initial_membership(
        &self,
        org: Option<(&OrgId, Role)>,
    ) -> Result<Option<(OrgId, Role)>, StoreError> {
        match (&self.home, org) {
            (Namespace::Server, org) => Ok(org.map(|(id, role)| (id.clone(), role))),
            (Namespace::Org(home), None) => Ok(Some((home.clone(), Role::Member))),
            (Namespace::Org(home), Some((id, role))) if id == home => {
                Ok(Some((home.clone(), role)))
            }
            (Namespace::Org(_), Some(_)) => Err(StoreError::Conflict(Unique::HomeOrganisation)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountInputError {
    #[error("a username is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")]
    Username,
    #[error("that is not an e-mail address")]
    Email,
    #[error("a role is owner, admin or member")]
    Role,
    #[error("an organisation name is 1-100 characters")]
    OrgName,
    #[error("a password is 8 to 1024 characters")]
    Password,
}

/// An organisation name: 1–100 printable characters, unique case-insensitively.
pub fn parse_org_name(s: &str) -> Result<(String, String), AccountInputError> {
    let s = s.trim();
    if (1..=100).contains(&s.chars().count()) && !s.chars().any(char::is_control) {
        Ok((s.to_owned(), s.to_lowercase()))
    } else {
        Err(AccountInputError::OrgName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Alice.B ").unwrap().key(), "alice.b");
        for bad in ["", "-x", "a b", "é", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("A@Example.COM").unwrap().key(),
            "a@example.com"
        );
        let display_name_form = "ceo<me@evil.example>";
        for bad in [
            "",
            "a",
            "@b",
            "a@",
            "a@b@c",
            "a b@c",
            display_name_form,
            "a,b@c",
            "\"a\"@b",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaced_keys() {
        let acme = Namespace::Org(OrgId::new("org_acme".to_owned()));
        let name = Username::parse("Alice").unwrap();
        assert_eq!(name.key_in(&Namespace::Server), "alice");
        assert_eq!(name.key_in(&acme), "org_acme alice");
        let email = Email::parse("A@Example.com").unwrap();
        assert_eq!(email.key_in(&acme), "org_acme a@example.com");
        assert_eq!(Namespace::of(acme.home_org()), acme);
        assert_eq!(Namespace::of(None), Namespace::Server);
    }

    #[test]
    fn a_managed_user_joins_its_home_only() {
        let acme = OrgId::new("org_acme".to_owned());
        let other = OrgId::new("org_other".to_owned());
        let mut user = NewUser {
            id: UserId::new("usr_a".to_owned()),
            username: Username::parse("a").unwrap(),
            email: Email::parse("a@b").unwrap(),
            display_name: "a".into(),
            password_hash: None,
            email_verified: false,
            home: Namespace::Org(acme.clone()),
        };
        assert_eq!(
            user.initial_membership(None).unwrap(),
            Some((acme.clone(), Role::Member))
        );
        assert_eq!(
            user.initial_membership(Some((&acme, Role::Owner))).unwrap(),
            Some((acme.clone(), Role::Owner))
        );
        assert!(matches!(
            user.initial_membership(Some((&other, Role::Member))),
            Err(StoreError::Conflict(Unique::HomeOrganisation))
        ));
        user.home = Namespace::Server;
        assert_eq!(user.initial_membership(None).unwrap(), None);
    }

    #[test]
    fn roles() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Owner.is_admin() && !Role::Member.is_admin());
    }
}
