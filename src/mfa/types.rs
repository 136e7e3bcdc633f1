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
