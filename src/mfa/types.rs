use crate::authn;

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

    /// Whether a sign-in with this `amr` may act for the user: anything, unless an organisation
    /// of the user requires a second factor and the sign-in did not use one. The one rule every
    /// path that issues tokens or credentials applies (the authorization endpoint and its
    /// consent answer, device approval, refresh and `/v1` through the grant's liveness, the
    /// API key pages).
    pub fn allow(&self, amr: &[String]) -> bool {
        !self.org_requires_mfa || authn::meets(amr, authn::ACR_MFA)
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
