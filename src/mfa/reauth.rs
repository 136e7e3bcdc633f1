//! Re-authentication for sensitive changes to the account's factors: turning TOTP off, new
//! recovery codes, registering or removing a passkey. One rule for all of them, so that no
//! factor is easier to change than another.

use crate::clock::UnixTime;

/// How recent a sign-in must be for such a change (seconds).
pub const REAUTH_WINDOW: i64 = 300;

/// Whether a sign-in at `auth_time` is recent enough at `now` for such a change.
pub fn recent_sign_in(auth_time: UnixTime, now: UnixTime) -> bool {
    now - auth_time <= REAUTH_WINDOW
}
