//! The storage account self-service needs. Implemented over diesel in `crate::store`.

use super::types::{EmailLink, HashedEmailLink, LinkKind, ResetDone};
use crate::clock::UnixTime;
use crate::credentials::HashedSessionId;
use crate::ids::UserId;
use crate::sessions::types::SessionRecord;
use crate::store::StoreResult;

pub trait SelfServiceStore {
    /// The user's password hash; `None` for an account without a password (SSO only).
    fn password_hash(&self, user: &UserId) -> StoreResult<Option<String>>;
    fn set_password_hash(&self, user: &UserId, hash: &str, now: UnixTime) -> StoreResult<()>;
    fn set_display_name(&self, user: &UserId, name: &str, now: UnixTime) -> StoreResult<()>;
    /// Whether an organisation's SCIM client provisions the account (its IdP owns the address).
    fn is_scim_provisioned(&self, user: &UserId) -> StoreResult<bool>;
    /// The user's sessions, most recently used first (live or not yet pruned).
    fn user_sessions(&self, user: &UserId) -> StoreResult<Vec<SessionRecord>>;
    /// Signs out every session of the user but `keep`, ending the grants bound to them as
    /// sign-out does, in one transaction; with `all_grants` (a password change), every other
    /// grant of the user too (offline and device ones), but those bound to `keep`. The number
    /// of sessions ended.
    fn end_user_sessions(
        &self,
        user: &UserId,
        keep: Option<&HashedSessionId>,
        all_grants: bool,
        now: UnixTime,
    ) -> StoreResult<usize>;
    /// Stores a new link, first spending the user's unused links of the same kind (a newer
    /// link replaces older ones), in one transaction.
    fn insert_email_link(&self, link: &EmailLink, now: UnixTime) -> StoreResult<()>;
    /// An unused, unexpired link of one of `kinds` (to show its page; nothing is spent).
    fn find_email_link(
        &self,
        hash: &HashedEmailLink,
        kinds: &[LinkKind],
        now: UnixTime,
    ) -> StoreResult<Option<EmailLink>>;
    /// Spends an e-mail link of `user` (one conditional update: unused, unexpired, this
    /// user's) and makes its address the account's, proven, in one transaction; the user's
    /// other pending e-mail links are spent too. The previous address, or `None` when the
    /// link could not be spent. `Conflict(Email)` (nothing spent) when another account of the
    /// namespace has the address: `email_key` is its key there.
    fn confirm_email(
        &self,
        hash: &HashedEmailLink,
        user: &UserId,
        email_key: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>>;
    /// Spends a password-reset link (one conditional update) and, in the same transaction,
    /// sets the password, marks the address proven when it is still the one the link went to,
    /// and signs out every session of the user with the grants bound to them. `None` when the
    /// link could not be spent.
    fn reset_password(
        &self,
        hash: &HashedEmailLink,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ResetDone>>;
}
