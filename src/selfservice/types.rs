//! The single-use links this area sends by e-mail, and how long each lives.

use crate::clock::UnixTime;
use crate::credentials::{Hashed, Plain, kind};
use crate::ids::UserId;

/// A link's secret as sent in a mail (`?token=`): shown once, in the message, never stored.
pub type PlainEmailLink = Plain<kind::EmailLink>;
/// Its SHA-256, the only form stored (`email_links.id_hash`).
pub type HashedEmailLink = Hashed<kind::EmailLink>;

/// A password-reset link lives 30 minutes (issue #14).
pub const RESET_TTL: i64 = 30 * 60;
/// An e-mail confirmation link (a change, or verifying the current address) lives 24 hours.
pub const EMAIL_TTL: i64 = 24 * 60 * 60;

/// What a link does (`email_links.kind`). Invitations are the members area's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Sets a new password (`PASSWORD_RESET`).
    PasswordReset,
    /// Proves a new address and makes it the account's (`ACCOUNT_EMAIL_CONFIRM`).
    EmailChange,
    /// Proves the account's current address (`ACCOUNT_EMAIL_CONFIRM`).
    EmailVerify,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::PasswordReset => "password_reset",
            LinkKind::EmailChange => "email_change",
            LinkKind::EmailVerify => "email_verify",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password_reset" => Some(LinkKind::PasswordReset),
            "email_change" => Some(LinkKind::EmailChange),
            "email_verify" => Some(LinkKind::EmailVerify),
            _ => None,
        }
    }
}

/// A stored link of this area: for one user, to one address.
#[derive(Debug, Clone)]
pub struct EmailLink {
    pub id_hash: HashedEmailLink,
    pub kind: LinkKind,
    pub user_id: UserId,
    /// The address the link was sent to (for an e-mail change: the new address).
    pub email: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What a password reset ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetDone {
    pub user_id: UserId,
    /// Sessions signed out (with the grants bound to them).
    pub sessions: usize,
}
