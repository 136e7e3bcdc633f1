//! The user's claims a scope releases (OIDC Core §5.4), built once for the ID token and the
//! userinfo answer, so the two never disagree about what `profile`, `email` or `groups` gives.

use serde::Serialize;

use crate::accounts::store::UserStore;
use crate::accounts::types::{Organisation, User};
use crate::clock::UnixTime;
use crate::oauth::types::SCOPE_GROUPS;
use crate::scopes::Scopes;
use crate::store::StoreResult;

pub const SCOPE_PROFILE: &str = "profile";
pub const SCOPE_EMAIL: &str = "email";

/// Where the claims go. The ID token carries the short set (it travels through the browser and
/// into logs of relying parties); userinfo (OIDC Core §5.3) adds `updated_at` and
/// `email_verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    IdToken,
    Userinfo,
}

/// The user's claims for a scope. `sub` is always there; the others only with their scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserClaims {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Always `false`: addresses are entered by administrators, not proven by a mail round trip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The organisation the grant acts in (issue #11), whatever the scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
}

/// The claims of `user` that `scope` releases to `release`, acting in `org` (the grant's
/// organisation): `org_id` and `org_name`, and with the `groups` scope the user's groups in
/// that organisation only (none without one).
pub fn user_claims<S: UserStore>(
    store: &S,
    user: &User,
    org: Option<&Organisation>,
    scope: &Scopes,
    release: Release,
) -> StoreResult<UserClaims> {
    let groups = match org {
        Some(org) if scope.contains(SCOPE_GROUPS) => Some(store.user_groups(&user.id, &org.id)?),
        None if scope.contains(SCOPE_GROUPS) => Some(Vec::new()),
        _ => None,
    };
    let mut claims = claims_with_groups(user, scope, release, groups);
    if let Some(org) = org {
        claims.org_id = Some(org.id.to_string());
        claims.org_name = Some(org.name.clone());
    }
    Ok(claims)
}

/// [`user_claims`] with the groups already read.
pub fn claims_with_groups(
    user: &User,
    scope: &Scopes,
    release: Release,
    groups: Option<Vec<String>>,
) -> UserClaims {
    let profile = scope.contains(SCOPE_PROFILE);
    let email = scope.contains(SCOPE_EMAIL);
    let userinfo = release == Release::Userinfo;
    UserClaims {
        sub: user.id.to_string(),
        name: profile.then(|| user.display_name.clone()),
        preferred_username: profile.then(|| user.username.clone()),
        updated_at: (profile && userinfo).then_some(user.updated_at),
        email: email.then(|| user.email.clone()),
        email_verified: email.then_some(user.email_verified),
        groups,
        org_id: None,
        org_name: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            username: "ada".into(),
            email: "ada@example.com".into(),
            display_name: "Ada L".into(),
            disabled: false,
            created_at: 1_600_000_000,
            updated_at: 1_700_000_000,
            home_org: None,
            email_verified: false,
        }
    }

    fn json(scope: &str, release: Release, groups: Option<Vec<String>>) -> serde_json::Value {
        let scope = Scopes::parse(scope).unwrap();
        serde_json::to_value(claims_with_groups(&user(), &scope, release, groups)).unwrap()
    }

    /// `openid` alone releases only `sub`, wherever the claims go.
    #[test]
    fn openid_alone_is_sub_only() {
        for release in [Release::IdToken, Release::Userinfo] {
            assert_eq!(
                json("openid", release, None),
                serde_json::json!({"sub": "u1"})
            );
        }
    }

    /// Userinfo answers what it answered before there was one builder (OIDC Core §5.4).
    #[test]
    fn userinfo_claims_per_scope() {
        assert_eq!(
            json(
                "openid profile email groups",
                Release::Userinfo,
                Some(vec!["eng".into()])
            ),
            serde_json::json!({
                "sub": "u1",
                "name": "Ada L",
                "preferred_username": "ada",
                "updated_at": 1_700_000_000,
                "email": "ada@example.com",
                "email_verified": false,
                "groups": ["eng"],
            })
        );
    }

    /// The ID token's short set: no `updated_at`; `email_verified` beside `email` (issue #14).
    #[test]
    fn id_token_claims_per_scope() {
        assert_eq!(
            json("openid profile email", Release::IdToken, None),
            serde_json::json!({
                "sub": "u1",
                "name": "Ada L",
                "preferred_username": "ada",
                "email": "ada@example.com",
                "email_verified": false,
            })
        );
    }
}
