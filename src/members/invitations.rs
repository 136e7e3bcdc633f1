//! Invitations (issue #14): an administrator invites an address with a role; the link (valid 7
//! days, single use, only its SHA-256 stored) lets its holder join, signed in with the invited
//! address or by creating an account. Blocking (store, argon2): call from `web::block`.

use secrecy::{ExposeSecret, SecretString};

use super::mail::invitation_mail;
use super::service::Admin;
use super::store::{HashedInvitation, Invitation, InvitationStore, Joined, PlainInvitation};
use crate::accounts::password::PasswordHasher;
use crate::accounts::store::{OrgStore, UserStore};
use crate::accounts::types::{Email, Namespace, NewUser, Organisation, Role, User, Username};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::{Clock, UnixTime};
use crate::federation::store::ConnectionStore;
use crate::ids::UserId;
use crate::mail::Outbox;
use crate::store::{StoreError, Unique};

/// How long an invitation link stays valid: 7 days.
pub const INVITATION_TTL: i64 = 7 * 24 * 3600;

/// The invitation form's input problems, one per field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InviteErrors {
    pub email: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("the invitation form has errors")]
    Input(InviteErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Invites `email` to the administrator's organisation as `role` (admins invite admins and
/// members, owners also owners), replacing a pending invitation of the same address, and
/// queues the mail with the link. Audited `invitation.created`.
#[allow(clippy::too_many_arguments)]
pub fn invite<S: InvitationStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    outbox: &dyn Outbox,
    base_url: &str,
    admin: &Admin,
    inviter: &str,
    email: &str,
    role: &str,
    meta: &RequestMeta,
) -> Result<Invitation, InviteError> {
    let mut errors = InviteErrors::default();
    let email = Email::parse(email)
        .map_err(|_| errors.email = Some("Enter an e-mail address such as ann@example.com.".into()))
        .ok();
    let role = match role.parse::<Role>() {
        Ok(Role::Owner) if admin.role != Role::Owner => {
            errors.role = Some("Only an owner can invite an owner.".into());
            None
        }
        Ok(role) => Some(role),
        Err(_) => {
            errors.role = Some("Choose owner, admin or member.".into());
            None
        }
    };
    let (Some(email), Some(role)) = (email, role) else {
        return Err(InviteError::Input(errors));
    };
    let now = clock.now();
    let plain = PlainInvitation::new(crate::crypto::random_token());
    let invitation = Invitation {
        id: plain.hash().as_str().to_owned(),
        org_id: admin.org.id.clone(),
        email: email.as_str().to_owned(),
        role,
        created_by: Some(admin.id.clone()),
        created_at: now,
        expires_at: now + INVITATION_TTL,
    };
    let replaced = store.create_invitation(&plain.hash(), &invitation)?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::InvitationCreated, meta)
            .org(&admin.org.id)
            .user(&admin.id)
            .subject(email.as_str())
            .detail(format!("role={role} replaced={replaced}")),
    )?;
    let link = format!(
        "{}{}?token={}",
        base_url.trim_end_matches('/'),
        crate::web::paths::INVITATION,
        plain.expose()
    );
    outbox.send(invitation_mail(&admin.org, inviter, &invitation, &link));
    Ok(invitation)
}

/// Revokes the organisation's pending invitation `id`; `false` when it has none such (another
/// organisation's, used or unknown). Audited `invitation.revoked`.
pub fn revoke<S: InvitationStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    admin: &Admin,
    id: &str,
    meta: &RequestMeta,
) -> Result<bool, StoreError> {
    if !store.revoke_invitation(&admin.org.id, id)? {
        return Ok(false);
    }
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::InvitationRevoked, meta)
            .org(&admin.org.id)
            .user(&admin.id)
            .detail(id.chars().take(12).collect::<String>()),
    )?;
    Ok(true)
}

/// What the invitation page shows.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub invitation: Invitation,
    pub org: Organisation,
    /// The inviter's display name, if the account still exists.
    pub inviter: Option<String>,
    /// The organisation has an enabled SSO connection: "Continue with SSO" is offered.
    pub sso: bool,
}

impl InvitationView {
    /// Whether the page offers to create an account with a password: not when the organisation
    /// requires SSO (its members sign in through its IdP).
    pub fn offers_password(&self) -> bool {
        !self.org.require_sso
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "This invitation link cannot be used: it was already used, it expired, it was revoked or replaced, or it is incomplete. Ask the organisation's administrator for a new one."
    )]
    Unusable,
    #[error(
        "This invitation is for {invited}. Sign out and sign in with that address, or create an account."
    )]
    WrongAccount { invited: String },
    #[error(
        "Your account signs in through another organisation and cannot join this one. Sign out and create an account for this invitation instead."
    )]
    CannotJoin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hash_of(token: &PlainInvitation) -> Option<HashedInvitation> {
    // A link's secret is 43 URL-safe characters: anything else names nothing (and is not
    // looked up).
    (token.expose().len() == 43).then(|| token.hash())
}

/// The unused, unexpired invitation behind `hash`, while its inviter still has the authority
/// to make it: an admin or owner of the organisation, an owner for an owner's invitation, and
/// not disabled. An invitation does not outlive the inviter's removal or demotion (attack
/// review, issue #14); one made by the operator (no inviter) stands.
fn usable<S: InvitationStore + UserStore>(
    store: &S,
    hash: &HashedInvitation,
    now: UnixTime,
) -> Result<Invitation, LinkError> {
    let invitation = store
        .find_invitation(hash, now)?
        .ok_or(LinkError::Unusable)?;
    if let Some(inviter) = &invitation.created_by {
        let active = store.find_user(inviter)?.is_some_and(|u| !u.disabled);
        let allowed = match store.membership(inviter, &invitation.org_id)? {
            Some(m) => {
                m.role.is_admin() && (invitation.role != Role::Owner || m.role == Role::Owner)
            }
            None => false,
        };
        if !(active && allowed) {
            return Err(LinkError::Unusable);
        }
    }
    Ok(invitation)
}

/// The usable invitation `token` names, with its organisation.
pub fn view<S: InvitationStore + OrgStore + UserStore + ConnectionStore>(
    store: &S,
    clock: &dyn Clock,
    token: &PlainInvitation,
) -> Result<InvitationView, LinkError> {
    let hash = hash_of(token).ok_or(LinkError::Unusable)?;
    let invitation = usable(store, &hash, clock.now())?;
    let org = store
        .find_org_by_id(&invitation.org_id)?
        .ok_or(LinkError::Unusable)?;
    let inviter = match &invitation.created_by {
        Some(id) => store.find_user(id)?.map(|u| u.display_name),
        None => None,
    };
    let sso = store.list_connections(&org.id)?.iter().any(|c| c.enabled);
    Ok(InvitationView {
        invitation,
        org,
        inviter,
        sso,
    })
}

fn joined_event(
    now: i64,
    org: &Organisation,
    user: &User,
    inv: &Invitation,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(now, AuditKind::MemberAdded, meta)
        .org(&org.id)
        .user(&user.id)
        .subject(&format!("{}@{}", user.username, org.name))
        .detail(format!("invitation role={}", inv.role))
}

/// The signed-in `user` accepts: only with the invited address (case-insensitively). Joins with
/// the invited role; a member already keeps the higher of the two roles (an invitation never
/// lowers one). Audited `membership.added` (detail `invitation`) or `membership.role_changed`.
pub fn accept<S: InvitationStore + OrgStore + UserStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    token: &PlainInvitation,
    user: &User,
    meta: &RequestMeta,
) -> Result<(Organisation, Joined), LinkError> {
    let hash = hash_of(token).ok_or(LinkError::Unusable)?;
    let now = clock.now();
    let invitation = usable(store, &hash, now)?;
    if invitation.email.to_lowercase() != user.email.to_lowercase() {
        return Err(LinkError::WrongAccount {
            invited: invitation.email,
        });
    }
    let org = store
        .find_org_by_id(&invitation.org_id)?
        .ok_or(LinkError::Unusable)?;
    let (invitation, joined) = match store.accept_invitation(&hash, &user.id, now) {
        Ok(Some(accepted)) => accepted,
        Ok(None) => return Err(LinkError::Unusable),
        Err(StoreError::Conflict(Unique::HomeOrganisation)) => return Err(LinkError::CannotJoin),
        Err(e) => return Err(e.into()),
    };
    match joined {
        Joined::Added => store.record_event(&joined_event(now, &org, user, &invitation, meta))?,
        Joined::Raised { from } => store.record_event(
            &AuditEvent::new(now, AuditKind::MemberRoleChanged, meta)
                .org(&org.id)
                .user(&user.id)
                .subject(&format!("{}@{}", user.username, org.name))
                .detail(format!("{} (was {from}) invitation", invitation.role)),
        )?,
        Joined::Unchanged => {}
    }
    Ok((org, joined))
}

/// The invitation page's "Create your account" form.
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password: SecretString,
    pub password_again: SecretString,
}

/// The account form's problems, one per field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccountErrors {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub password_again: Option<String>,
    /// Not about one field (the address has an account already...).
    pub form: Option<String>,
}

impl AccountErrors {
    fn any(&self) -> bool {
        self.username.is_some()
            || self.display_name.is_some()
            || self.password.is_some()
            || self.password_again.is_some()
            || self.form.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewAccountError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the account form has errors")]
    Input(AccountErrors),
    #[error(transparent)]
    Busy(#[from] crate::accounts::password::Busy),
}

impl From<StoreError> for NewAccountError {
    fn from(e: StoreError) -> Self {
        NewAccountError::Link(LinkError::Store(e))
    }
}

/// Creates the invitee's account from the form and makes it a member with the invited role,
/// in the transaction that uses the link: a server account (password sign-in resolves server
/// accounts only, see the README's namespaces), with the invited address, proven by the link
/// (`email_verified`). Refused when the organisation requires SSO (the page offers only SSO
/// then). Audited `user.created` and `membership.added` (detail `invitation`).
pub fn create_account<S: InvitationStore + OrgStore + UserStore + AuditStore>(
    store: &S,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    token: &PlainInvitation,
    input: &NewAccount,
    meta: &RequestMeta,
) -> Result<User, NewAccountError> {
    let hash = hash_of(token).ok_or(LinkError::Unusable)?;
    let now = clock.now();
    let invitation = usable(store, &hash, now)?;
    let org = store
        .find_org_by_id(&invitation.org_id)?
        .ok_or(LinkError::Unusable)?;
    let mut errors = AccountErrors::default();
    if org.require_sso {
        errors.form = Some(format!(
            "{} signs in through single sign-on: use \"Continue with SSO\".",
            org.name
        ));
        return Err(NewAccountError::Input(errors));
    }
    let username = Username::parse(&input.username)
        .map_err(|e| errors.username = Some(sentence(&e.to_string())))
        .ok();
    let display_name = input.display_name.trim();
    if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
        errors.display_name = Some("A name is at most 200 printable characters.".into());
    }
    let password = input.password.expose_secret();
    if let Err(reason) = crate::accounts::password::check_strength(
        password,
        &[&input.username, &invitation.email, display_name],
    ) {
        errors.password = Some(reason.to_string());
    } else if password != input.password_again.expose_secret() {
        errors.password_again = Some("The two passwords differ.".into());
    }
    let email = Email::parse(&invitation.email).map_err(|_| LinkError::Unusable)?;
    let (Some(username), false) = (username, errors.any()) else {
        return Err(NewAccountError::Input(errors));
    };
    let password_hash = hasher.hash(&input.password)?;
    let new = NewUser {
        id: UserId::generate(),
        display_name: if display_name.is_empty() {
            username.as_str().to_owned()
        } else {
            display_name.to_owned()
        },
        username,
        email,
        password_hash: Some(password_hash),
        // The link sent to the address proved it.
        email_verified: true,
        home: Namespace::Server,
    };
    let (invitation, user) = match store.accept_invitation_new_user(&hash, &new, now) {
        Ok(Some(created)) => created,
        Ok(None) => return Err(LinkError::Unusable.into()),
        Err(StoreError::Conflict(Unique::Username)) => {
            errors.username = Some("That username is taken: choose another.".into());
            return Err(NewAccountError::Input(errors));
        }
        Err(StoreError::Conflict(Unique::Email)) => {
            errors.form = Some(format!(
                "An account with the address {} exists already: sign in with it to accept.",
                invitation.email
            ));
            return Err(NewAccountError::Input(errors));
        }
        Err(e) => return Err(e.into()),
    };
    store.record_event(
        &AuditEvent::new(now, AuditKind::UserCreated, meta)
            .org(&org.id)
            .user(&user.id)
            .subject(&user.username)
            .detail("invitation"),
    )?;
    store.record_event(&joined_event(now, &org, &user, &invitation, meta))?;
    Ok(user)
}

/// `AccountInputError`'s text as a sentence: a capital first letter and a full stop.
fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
