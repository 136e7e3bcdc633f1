//! Which scopes a user may grant a client — one rule for every flow that issues tokens for a
//! user: the authorization-code flow (its consent page, the remembered consent and the code),
//! the device flow's approval, and every token minted on a user's grant.
//!
//! Identity scopes (`openid`, `profile`, `offline_access`…) are granted as asked (within what
//! the client may ask for, checked before). API scopes ([`API_SCOPES`]) are granted only when
//! the user's role holds them ([`role_scopes`]; `admin` implies all): resource servers read
//! them from the token response, introspection and the JWT `scope` claim, so a member must
//! never obtain `admin` or `write:org` by asking. The others are dropped from the grant, not
//! refused (RFC 6749 §3.3 lets the server grant less than asked and says so in `scope`).

use crate::accounts::store::UserStore;
use crate::accounts::types::Role;
use crate::ids::{OrgId, UserId};
use crate::scopes::Scopes;
use crate::scopes::{API_SCOPES, holds, role_scopes};
use crate::store::StoreResult;

/// `asked` without the API scopes `role` does not hold (all of them without a role).
pub fn limit_to_role(asked: &Scopes, role: Option<Role>) -> Scopes {
    let held = role.map(role_scopes).unwrap_or_default();
    let kept: Vec<&str> = asked
        .iter()
        .filter(|s| !API_SCOPES.contains(s) || holds(&held, s))
        .collect();
    Scopes::parse(&kept.join(" ")).unwrap_or_default()
}

/// [`limit_to_role`] with the user's current role in the grant's organisation `org` (as `/v1`
/// reads it); no API scope without an organisation or once the membership is gone.
pub fn for_user<S: UserStore>(
    store: &S,
    user_id: &UserId,
    org: Option<&OrgId>,
    asked: &Scopes,
) -> StoreResult<Scopes> {
    let role = match org {
        Some(org) => store.membership(user_id, org)?.map(|m| m.role),
        None => None,
    };
    Ok(limit_to_role(asked, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Scopes {
        Scopes::parse(v).unwrap()
    }

    #[test]
    fn api_scopes_follow_the_role_identity_scopes_pass() {
        let asked = s("openid profile offline_access admin write:org read:org ci");
        assert_eq!(
            limit_to_role(&asked, Some(Role::Member)),
            s("openid profile offline_access read:org")
        );
        assert_eq!(limit_to_role(&asked, Some(Role::Admin)), asked);
        assert_eq!(limit_to_role(&asked, Some(Role::Owner)), asked);
        assert_eq!(
            limit_to_role(&asked, None),
            s("openid profile offline_access")
        );
        assert_eq!(
            limit_to_role(&s("admin"), Some(Role::Member)),
            Scopes::default()
        );
    }
}
