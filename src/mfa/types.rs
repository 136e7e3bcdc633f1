/// What a user has beyond a password, and what their organisations require: all the sign-in
/// flow needs to decide whether to ask for a second factor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// A confirmed TOTP enrolment (with its recovery codes).
    pub totp: bool,
    /// At least one registered passkey.
    pub passkeys: bool,
    /// An organisation of the user requires a second factor of its members.
    pub org_requires_mfa: bool,
}

impl Factors {
    /// Has a second factor to ask for.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys
    }
}

/// A registered passkey (WebAuthn credential) of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Our id (`pk_…`), used in the settings pages' paths.
    pub id: String,
    pub user_id: crate::ids::UserId,
    /// The credential id, base64url without padding (unique across users).
    pub credential_id: String,
    /// The name the user gave it.
    pub name: String,
    /// The credential (public key, algorithm, flags, counter) as webauthn-rs serialises it.
    pub credential: String,
    /// The highest signature counter accepted (WebAuthn L2 §6.1.1); 0 for authenticators
    /// without one (synced passkeys).
    pub sign_count: i64,
    pub created_at: crate::clock::UnixTime,
    pub last_used_at: Option<crate::clock::UnixTime>,
}
