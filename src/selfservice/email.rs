//! The account's e-mail address: a change is confirmed through a link sent to the new address
//! (24 hours, single use, only its hash stored), and the current address can be proven the
//! same way. Confirming needs the same user signed in. Blocking: call from `web::block`.
//!
//! Accounts whose address an organisation's identity provider owns cannot change it here:
//! accounts provisioned by SCIM, accounts an organisation created for its single sign-on
//! (managed, without a password), and members of an organisation that requires SSO (unless
//! owners there, who keep their password as sign-in does). Their IdP changes the address.

use super::error::SelfServiceError;
use super::mail::{self, LinkMessage, link_url};
use super::store::SelfServiceStore;
use super::types::{EMAIL_TTL, EmailLink, LinkKind, PlainEmailLink};
use crate::accounts::store::ThrottleStore;
use crate::accounts::types::{Email, Namespace, Role, User};
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::crypto;
use crate::federation::store::SsoPolicyStore;
use crate::mail::Outbox;
use crate::store::{StoreError, StoreResult, Unique};
use crate::web::paths::ACCOUNT_EMAIL_CONFIRM;

const VALID_FOR: &str = "24 hours";

/// Whether the user's address belongs to an organisation's identity provider (see the module
/// documentation): then this page does not change it.
pub fn email_managed<S: SelfServiceStore + SsoPolicyStore>(
    store: &S,
    user: &User,
) -> StoreResult<bool> {
    if store.is_scim_provisioned(&user.id)? {
        return Ok(true);
    }
    if user.home_org.is_some() && store.password_hash(&user.id)?.is_none() {
        return Ok(true);
    }
    Ok(store
        .sso_required_memberships(&user.id)?
        .iter()
        .any(|m| m.role != Role::Owner))
}

fn send_link<S: SelfServiceStore + ThrottleStore>(
    store: &S,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    base: &str,
    user: &User,
    kind: LinkKind,
    email: &str,
) -> Result<(), SelfServiceError> {
    let now = clock.now();
    // The forgot-password budget per account, for every link this page sends: a signed-in
    // user cannot make the server mail anyone without end (attack review, issue #14).
    let key = format!("mail-acct:{}", user.id);
    if !super::reset::counted(store, &key, super::reset::PER_ACCOUNT, now)? {
        return Err(SelfServiceError::Throttled {
            retry_after: super::reset::THROTTLE_WINDOW.unsigned_abs(),
        });
    }
    let plain = PlainEmailLink::new(crypto::random_token());
    store.insert_email_link(
        &EmailLink {
            id_hash: plain.hash(),
            kind,
            user_id: user.id.clone(),
            email: email.to_owned(),
            created_at: now,
            expires_at: now + EMAIL_TTL,
        },
        now,
    )?;
    let url = link_url(base, ACCOUNT_EMAIL_CONFIRM, plain.expose());
    let m = LinkMessage {
        username: &user.username,
        url: &url,
        valid_for: VALID_FOR,
        email,
    };
    let message = match kind {
        LinkKind::EmailChange => mail::email_change(email, &m)?,
        _ => mail::verify(email, &m)?,
    };
    outbox.send(message);
    Ok(())
}

/// Sends a link confirming `new_email` to that address (older change links of the user stop
/// working). Audited `email.change_requested`. The address becomes the account's only when
/// the link is followed ([`confirm`]); whether another account uses it is said then, to the
/// owner of the mailbox only.
#[allow(clippy::too_many_arguments)]
pub fn request_change<S: SelfServiceStore + SsoPolicyStore + ThrottleStore + AuditStore>(
    store: &S,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    base: &str,
    user: &User,
    new_email: &str,
    meta: &RequestMeta,
) -> Result<(), SelfServiceError> {
    if email_managed(store, user)? {
        return Err(SelfServiceError::EmailManaged);
    }
    let email = Email::parse(new_email).map_err(|_| {
        SelfServiceError::field("email", "Enter an e-mail address, like name@example.com.")
    })?;
    if email.key() == user.email.to_lowercase() {
        return Err(SelfServiceError::field(
            "email",
            "This is already your address.",
        ));
    }
    send_link(
        store,
        outbox,
        clock,
        base,
        user,
        LinkKind::EmailChange,
        email.as_str(),
    )?;
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::EmailChangeRequested, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(())
}

/// Sends a link proving the current address to it; nothing when it is proven already.
/// Audited `email.verify_requested`.
pub fn request_verification<S: SelfServiceStore + ThrottleStore + AuditStore>(
    store: &S,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    base: &str,
    user: &User,
    meta: &RequestMeta,
) -> Result<bool, SelfServiceError> {
    if user.email_verified {
        return Ok(false);
    }
    send_link(
        store,
        outbox,
        clock,
        base,
        user,
        LinkKind::EmailVerify,
        &user.email,
    )?;
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::EmailVerifyRequested, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(true)
}

/// The pending e-mail link `token` names, for `user`'s confirmation page (nothing is spent):
/// `InvalidLink` when used, expired, replaced or unknown; `WrongUser` when another account
/// asked for it.
pub fn pending<S: SelfServiceStore>(
    store: &S,
    clock: &dyn Clock,
    user: &User,
    token: &PlainEmailLink,
) -> Result<EmailLink, SelfServiceError> {
    let link = store
        .find_email_link(
            &token.hash(),
            &[LinkKind::EmailChange, LinkKind::EmailVerify],
            clock.now(),
        )?
        .ok_or(SelfServiceError::InvalidLink)?;
    if link.user_id != user.id {
        return Err(SelfServiceError::WrongUser);
    }
    Ok(link)
}

/// What a confirmation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub kind: LinkKind,
    pub email: String,
}

/// Follows an e-mail link as `user`: the link is spent and its address becomes the account's,
/// proven (`email_verified`), in one transaction; for a change the previous address gets a
/// notice. An address another account of the namespace uses is refused (`Form`, nothing
/// spent). Audited `email.changed` or `email.verified`.
pub fn confirm<S: SelfServiceStore + SsoPolicyStore + AuditStore>(
    store: &S,
    outbox: &dyn Outbox,
    clock: &dyn Clock,
    user: &User,
    token: &PlainEmailLink,
    meta: &RequestMeta,
) -> Result<Confirmed, SelfServiceError> {
    let link = pending(store, clock, user, token)?;
    if link.kind == LinkKind::EmailChange && email_managed(store, user)? {
        return Err(SelfServiceError::EmailManaged);
    }
    let email = Email::parse(&link.email).map_err(|_| SelfServiceError::InvalidLink)?;
    let key = email.key_in(&Namespace::of(user.home_org.as_ref()));
    let now = clock.now();
    let previous = match store.confirm_email(&token.hash(), &user.id, &key, now) {
        Ok(Some(previous)) => previous,
        Ok(None) => return Err(SelfServiceError::InvalidLink),
        Err(StoreError::Conflict(Unique::Email)) => {
            return Err(SelfServiceError::field(
                "email",
                format!(
                    "Another account already uses {}: it cannot be yours too.",
                    email.as_str()
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let changed = previous.to_lowercase() != email.key();
    if changed {
        let m = LinkMessage {
            username: &user.username,
            url: "",
            valid_for: "",
            email: email.as_str(),
        };
        outbox.send(mail::email_changed_notice(&previous, &m)?);
    }
    let kind = if changed {
        AuditKind::EmailChanged
    } else {
        AuditKind::EmailVerified
    };
    store.record_event(
        &AuditEvent::new(now, kind, meta)
            .user(&user.id)
            .subject(&user.username),
    )?;
    Ok(Confirmed {
        kind: link.kind,
        email: email.as_str().to_owned(),
    })
}
