//! Account logic: creating organisations and users, disabling and removing them (sign-in is
//! in [`super::signin`]). Blocking (store and argon2): call from `web::block` or the CLI.

use secrecy::{ExposeSecret, SecretString};

use super::password::{Busy, PasswordHasher};
use super::types::*;
use crate::accounts::store::{OrgStore, UserStore};
use crate::audit::AuditStore;
use crate::audit::{AuditEvent, AuditKind, RequestMeta};
use crate::clock::Clock;
use crate::ids::{OrgId, UserId};
use crate::mfa::store::FactorStore;
use crate::sessions::store::SessionStore;
use crate::sessions::types::CurrentSession;
use crate::store::{StoreError, StoreResult, Unique};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Input(#[from] AccountInputError),
    #[error("a user with that {0} already exists")]
    Duplicate(Unique),
    /// An organisation of that name exists (the text is the one operators have always seen).
    #[error("a user with that organisation name already exists")]
    DuplicateOrg,
    #[error("no organisation named `{0}`")]
    UnknownOrg(String),
    #[error("no user named `{0}`")]
    UnknownUser(String),
    #[error("that user is not a member of that organisation")]
    NotMember,
    #[error("no group named `{0}` in that organisation")]
    UnknownGroup(String),
    #[error("a group of that name already exists in that organisation")]
    DuplicateGroup,
    #[error("a group name is 1 to 100 printable characters")]
    GroupName,
    /// A managed account is a member of its home organisation only.
    #[error(
        "that user is managed by, or signs in through the SSO of, another organisation and can only be a member of it"
    )]
    ManagedElsewhere,
    /// Only an owner or administrator of the organisation may change its settings.
    #[error("only an administrator of the organisation may change its settings")]
    NotAdmin,
    /// The session did not use the second factor an organisation of the user requires.
    #[error("your organisation requires a second factor: sign in with one first")]
    SecondFactorRequired,
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(Unique::HomeOrganisation) => AccountError::ManagedElsewhere,
            StoreError::Conflict(what) => AccountError::Duplicate(what),
            other => AccountError::Store(other),
        }
    }
}

pub fn validate_password(password: &SecretString) -> Result<(), AccountInputError> {
    let n = password.expose_secret().chars().count();
    if (8..=1024).contains(&n) {
        Ok(())
    } else {
        Err(AccountInputError::Password)
    }
}

pub fn create_org<S: OrgStore>(
    store: &S,
    clock: &dyn Clock,
    name: &str,
) -> Result<Organisation, AccountError> {
    let (name, key) = parse_org_name(name)?;
    let org = Organisation::new(OrgId::generate(), name, clock.now());
    store.create_org(&org, &key).map_err(|e| match e {
        StoreError::Conflict(_) => AccountError::DuplicateOrg,
        other => other.into(),
    })?;
    Ok(org)
}

pub struct CreateUser {
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password: Option<SecretString>,
    pub org: Option<String>,
    pub role: Role,
}

pub fn create_user<S: UserStore + OrgStore + AuditStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    input: CreateUser,
    meta: &RequestMeta,
) -> Result<(User, Option<Organisation>), AccountError> {
    let username = Username::parse(&input.username)?;
    let email = Email::parse(&input.email)?;
    let org = match &input.org {
        Some(name) => Some(
            store
                .find_org(&name.trim().to_lowercase())?
                .ok_or_else(|| AccountError::UnknownOrg(name.clone()))?,
        ),
        None => None,
    };
    let password_hash = match &input.password {
        Some(pw) => {
            validate_password(pw)?;
            Some(hasher.hash(pw)?)
        }
        None => None,
    };
    let display_name = input
        .display_name
        .map(|d| d.trim().chars().take(200).collect::<String>())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| username.as_str().to_owned());
    let new = NewUser {
        id: UserId::generate(),
        username,
        email,
        display_name,
        password_hash,
        email_verified: false,
        home: Namespace::Server,
    };
    let now = clock.now();
    let user = store.create_user(&new, org.as_ref().map(|o| (&o.id, input.role)), now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::UserCreated, meta)
            .in_org(org.as_ref().map(|o| &o.id))
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok((user, org))
}

/// The user an operator command names: a server account by username (names resolve the server
/// namespace only), or any account by its id (`usr_…`, as `user list` and the audit log show
/// it), which is how the operator reaches an organisation's managed accounts.
pub fn user_named<S: UserStore>(store: &S, username: &str) -> Result<User, AccountError> {
    let name = username.trim();
    if let Some(user) = store.find_user_by_username(&name.to_lowercase())? {
        return Ok(user);
    }
    if name.starts_with("usr_")
        && let Some(user) = store.find_user(&UserId::new(name))?
    {
        return Ok(user);
    }
    Err(AccountError::UnknownUser(username.to_owned()))
}

/// An organisation by name (case-insensitively).
pub fn org_named<S: OrgStore>(store: &S, name: &str) -> Result<Organisation, AccountError> {
    store
        .find_org(&name.trim().to_lowercase())?
        .ok_or_else(|| AccountError::UnknownOrg(name.to_owned()))
}

/// Deletes a user for good: everything disabling ends (sessions, grants and their tokens, API
/// keys they created, flows, device authorisations) and the row with its memberships, in one
/// transaction (a key never outlives its creator).
pub fn delete_user<S: UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    username: &str,
    meta: &RequestMeta,
) -> Result<User, AccountError> {
    let user = user_named(store, username)?;
    let now = clock.now();
    store.delete_user(&user.id, now)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::UserDeleted, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(user)
}

/// Sets whether the organisation requires a second factor of its members, and audits it with
/// who did it (`actor`: an administrator on the settings page; `None` from the CLI). Members
/// without one are taken to enrol one at their next sign-in, and no token is issued to a
/// session short of it (see [`crate::mfa::types::Factors::allow`]).
pub fn set_require_mfa<S: OrgStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &Organisation,
    require: bool,
    actor: Option<&UserId>,
    meta: &RequestMeta,
) -> Result<Organisation, AccountError> {
    store.set_org_require_mfa(&org.id, require)?;
    let mut event = AuditEvent::new(clock.now(), AuditKind::OrgRequireMfaSet, meta)
        .org(&org.id)
        .subject(&org.name)
        .detail(require.to_string());
    if let Some(actor) = actor {
        event = event.user(actor);
    }
    store.record_event(&event)?;
    Ok(Organisation {
        require_mfa: require,
        ..org.clone()
    })
}

/// The organisation the session acts in, if `actor` administers it (owner or admin), for the
/// organisation settings page (issue #11: a page acts in the session's active organisation
/// only; `active` is [`active_org`]'s); refused to a session (`amr`) short of the organisation
/// MFA requirement, which must not be able to turn it off.
pub fn administered_orgs<S: UserStore + FactorStore>(
    store: &S,
    actor: &UserId,
    amr: &[String],
    active: Option<&OrgId>,
) -> Result<Vec<Organisation>, AccountError> {
    if !store.factors(actor)?.allow(amr) {
        return Err(AccountError::SecondFactorRequired);
    }
    Ok(store
        .memberships(actor)?
        .into_iter()
        .filter(|m| m.role.is_admin() && Some(&m.org.id) == active)
        .map(|m| m.org)
        .collect())
}

/// The organisation settings page's change of [`set_require_mfa`]: only by an administrator of
/// that organisation ([`administered_orgs`]).
pub fn admin_set_require_mfa<S: UserStore + OrgStore + AuditStore + FactorStore>(
    store: &S,
    clock: &dyn Clock,
    actor: &UserId,
    amr: &[String],
    org_id: &OrgId,
    require: bool,
    meta: &RequestMeta,
) -> Result<Organisation, AccountError> {
    let org = administered_orgs(store, actor, amr, Some(org_id))?
        .into_iter()
        .find(|o| o.id == *org_id)
        .ok_or(AccountError::NotAdmin)?;
    set_require_mfa(store, clock, &org, require, Some(actor), meta)
}

/// How many usernames [`create_managed_user`] tries (`hint`, `hint-2` ... `hint-N`).
const MANAGED_USERNAME_TRIES: u32 = 100;

/// A valid [`Username`] made from an upstream hint (a preferred username, an e-mail's local
/// part, a name): letters, digits, `.`, `_`, `-` kept, other characters dropped, starting with a
/// letter or digit, short enough for a `-N` suffix; `user` when nothing is left.
fn username_base(hint: &str) -> String {
    let hint = hint.split('@').next().unwrap_or_default();
    let kept: String = hint
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(56)
        .collect();
    if kept.is_empty() {
        "user".to_owned()
    } else {
        kept
    }
}

/// Creates an account managed by `org` (just-in-time SSO provisioning; later SCIM): the first
/// free username in the organisation's namespace among `hint`, `hint-2`, `hint-3`..., no
/// password, a member of `org` in the same transaction, audited `user.created` with the
/// organisation. Another organisation's or the server's accounts never block a name here.
/// `Duplicate(Email)` if the organisation already manages an account with that address.
pub fn create_managed_user<S: UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    username_hint: &str,
    email: &Email,
    display_name: &str,
    meta: &RequestMeta,
) -> Result<User, AccountError> {
    let base = username_base(username_hint);
    let now = clock.now();
    for n in 1..=MANAGED_USERNAME_TRIES {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let username = Username::parse(&name)?;
        let display_name = display_name.trim().chars().take(200).collect::<String>();
        let new = NewUser {
            id: UserId::generate(),
            display_name: if display_name.is_empty() {
                name.clone()
            } else {
                display_name
            },
            username,
            email: email.clone(),
            password_hash: None,
            // Asserted by the organisation's IdP for a domain it verified.
            email_verified: true,
            home: Namespace::Org(org.clone()),
        };
        match store.create_user(&new, None, now) {
            Ok(user) => {
                store.record_event(
                    &AuditEvent::new(now, AuditKind::UserCreated, meta)
                        .org(org)
                        .user(&user.id)
                        .subject(&user.username)
                        .detail(format!("org {}", org.as_str())),
                )?;
                return Ok(user);
            }
            Err(StoreError::Conflict(Unique::Username)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AccountError::Duplicate(Unique::Username))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::types::Username;
    use crate::clock::ManualClock;
    use crate::testing::memory::MemoryStore;

    /// Operator commands reach an organisation's managed account by its id, never by the name
    /// it has in its organisation (that name is only unique there).
    #[test]
    fn operator_commands_name_managed_accounts_by_id() {
        let (store, clock) = (MemoryStore::default(), ManualClock::new(1_700_000_000));
        let org = create_org(&store, &clock, "Acme").unwrap();
        let email = Email::parse("alice@acme.test").unwrap();
        let meta = RequestMeta::default();
        let alice =
            create_managed_user(&store, &clock, &org.id, "alice", &email, "Alice", &meta).unwrap();
        assert_eq!(user_named(&store, alice.id.as_str()).unwrap().id, alice.id);
        assert!(matches!(
            user_named(&store, "alice"),
            Err(AccountError::UnknownUser(_))
        ));
    }

    #[test]
    fn usernames_from_upstream_hints() {
        for (hint, base) in [
            ("alice", "alice"),
            ("Alice.Smith@corp.example", "Alice.Smith"),
            ("-_x y", "xy"),
            ("Zoë", "Zo"),
            ("@corp", "user"),
            ("", "user"),
        ] {
            assert_eq!(username_base(hint), base, "{hint}");
            assert!(Username::parse(&format!("{}-100", username_base(hint))).is_ok());
        }
        assert_eq!(username_base(&"a".repeat(80)).len(), 56);
    }
}

/// The organisation a signed-in page acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveOrg {
    /// The session's active organisation, or the user's only one.
    In(Membership),
    /// The user is in no organisation.
    None,
    /// The user is in several and the session has none active: the picker asks.
    Choose,
}

/// The user's memberships that `current` may act in ([`Membership::admits`]): what the picker
/// lists and accepts, and what grants choose among.
pub fn admitted_memberships<S: UserStore>(
    store: &S,
    current: &CurrentSession,
) -> StoreResult<Vec<Membership>> {
    let session = &current.session;
    Ok(store
        .memberships(&current.user.id)?
        .into_iter()
        .filter(|m| m.admits(&session.amr, session.org_id.as_ref()))
        .collect())
}

/// The organisation `current` acts in on the pages (API keys, applications, organisation
/// settings): the session's active one (still a member, and admitted: the session lookup
/// checks), else the only one it may act in.
pub fn active_org<S: UserStore>(store: &S, current: &CurrentSession) -> StoreResult<ActiveOrg> {
    if let Some(m) = &current.org {
        return Ok(ActiveOrg::In(m.clone()));
    }
    Ok(match admitted_memberships(store, current)?.as_slice() {
        [] => ActiveOrg::None,
        [only] => ActiveOrg::In(only.clone()),
        _ => ActiveOrg::Choose,
    })
}

/// The organisation picker's choice: the session acts in `org_id` from now on (audited
/// `session.org.switched`); refused unless the user is a member of it.
pub fn switch_org<S: UserStore + SessionStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    current: &CurrentSession,
    org_id: &OrgId,
    meta: &RequestMeta,
) -> Result<Organisation, AccountError> {
    let m = admitted_memberships(store, current)?
        .into_iter()
        .find(|m| m.org.id == *org_id)
        .ok_or(AccountError::NotMember)?;
    store.set_session_org(&current.session.id_hash, Some(&m.org.id))?;
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::SessionOrgSwitched, meta)
            .org(&m.org.id)
            .user(&current.user.id)
            .subject(&m.org.name)
            .detail(m.org.id.to_string()),
    )?;
    Ok(m.org)
}
