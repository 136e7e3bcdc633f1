//! What authentication happened, in the words tokens use: the methods a sign-in can complete,
//! their RFC 8176 `amr` values, and the two authentication context classes (`acr`) mintgate
//! asserts. Shared by the sign-in flow, sessions, tokens, introspection and `/v1/auth/verify`.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The `amr` of a sign-in through an organisation's SSO connection (RFC 8176 registers no value
/// for federation; private values are allowed).
pub const AMR_FEDERATED: &str = "fed";
/// `acr` of a sign-in with one factor (a password).
pub const ACR_PWD: &str = "urn:mintgate:acr:pwd";
/// `acr` of a sign-in with two factors, or with a passkey verifying the user.
pub const ACR_MFA: &str = "urn:mintgate:acr:mfa";
/// Every `acr` value mintgate asserts, weakest first (discovery's `acr_values_supported`).
pub const ACR_VALUES: [&str; 2] = [ACR_PWD, ACR_MFA];

/// A method a sign-in can complete. Stored in a flow by [`Method::as_str`] (a stable name, not an
/// `amr` value: a recovery code and a TOTP code are both `otp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A password: something known.
    Password,
    /// A current TOTP code (RFC 6238): something held.
    Totp,
    /// One of the recovery codes given at TOTP enrolment, used once.
    RecoveryCode,
    /// A passkey (WebAuthn) assertion. `verified`: the authenticator verified the user (UV: a
    /// PIN or biometric), so the passkey alone is two factors. `hardware`: attested hardware.
    Passkey { verified: bool, hardware: bool },
    /// A sign-in at an organisation's upstream identity provider (enterprise SSO). One factor
    /// as far as mintgate knows (what the IdP asked is its own affair), so an organisation's MFA
    /// requirement still asks for mintgate's second factor. RFC 8176 registers no value for
    /// federation: `amr` says `fed` (a private value, which RFC 8176 §2 allows).
    Federated,
}

impl Method {
    /// The RFC 8176 values this method contributes to `amr`.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Method::Password => &["pwd"],
            Method::Federated => &[AMR_FEDERATED],
            Method::Totp | Method::RecoveryCode => &["otp"],
            Method::Passkey {
                verified: true,
                hardware: true,
            } => &["hwk", "user"],
            Method::Passkey {
                verified: true,
                hardware: false,
            } => &["swk", "user"],
            Method::Passkey {
                verified: false,
                hardware: true,
            } => &["hwk"],
            Method::Passkey {
                verified: false,
                hardware: false,
            } => &["swk"],
        }
    }

    /// A password, a user-verifying passkey or an upstream sign-in: says who the user is, on
    /// its own.
    pub fn identifies(self) -> bool {
        matches!(
            self,
            Method::Password | Method::Federated | Method::Passkey { verified: true, .. }
        )
    }

    /// Something held (a second factor after a password): a code or a passkey.
    pub fn is_possession(self) -> bool {
        !matches!(self, Method::Password | Method::Federated)
    }
}

/// The `amr` of a set of methods done: each method's values in order, without repeats, and
/// `mfa` when a possession factor joined a password or a passkey verified the user.
pub fn amr_of(methods: &[Method]) -> Vec<String> {
    let mut amr: Vec<String> = Vec::new();
    for m in methods {
        for v in m.amr() {
            if !amr.iter().any(|a| a == v) {
                amr.push((*v).to_owned());
            }
        }
    }
    let first = methods.contains(&Method::Password) || methods.contains(&Method::Federated);
    let two_factors = first && methods.iter().any(|m| m.is_possession());
    let verified_passkey = methods
        .iter()
        .any(|m| matches!(m, Method::Passkey { verified: true, .. }));
    if (two_factors || verified_passkey) && !amr.iter().any(|a| a == "mfa") {
        amr.push("mfa".to_owned());
    }
    amr
}

/// How a user authenticated for a grant (a session's sign-in, carried into the grants made in
/// it): what ID tokens, introspection and `/v1/auth/verify` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// RFC 8176 values.
    pub amr: Vec<String>,
    /// When the last factor was done (OIDC `auth_time`).
    pub auth_time: UnixTime,
}

impl Authentication {
    /// The `acr` this sign-in meets ([`acr_of`]).
    pub fn acr(&self) -> &'static str {
        acr_of(&self.amr)
    }
}

/// The `acr` a session with this `amr` meets.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "mfa") {
        ACR_MFA
    } else {
        ACR_PWD
    }
}

/// Whether a sign-in with this `amr` meets `acr` (an `acr` mintgate does not know is never met).
pub fn meets(amr: &[String], acr: &str) -> bool {
    match acr {
        ACR_PWD => true,
        ACR_MFA => acr_of(amr) == ACR_MFA,
        _ => false,
    }
}

/// The requirement of an `acr_values` request parameter (OIDC Core §3.1.2.1: space-separated, in
/// order of preference): the weakest value mintgate knows among them, which is the least that
/// meets the request. Values mintgate does not know are skipped (the parameter is a voluntary
/// claim request); `None` when none is known, so nothing beyond a sign-in is required.
pub fn requested_acr(acr_values: &str) -> Option<&'static str> {
    let asked: Vec<&str> = acr_values.split_ascii_whitespace().collect();
    ACR_VALUES.into_iter().find(|known| asked.contains(known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_alone_is_one_factor() {
        let amr = amr_of(&[Method::Password]);
        assert_eq!(amr, ["pwd"]);
        assert_eq!(acr_of(&amr), ACR_PWD);
        assert!(!meets(&amr, ACR_MFA));
    }

    #[test]
    fn password_and_code_are_two_factors() {
        let amr = amr_of(&[Method::Password, Method::Totp]);
        assert_eq!(amr, ["pwd", "otp", "mfa"]);
        assert_eq!(acr_of(&amr), ACR_MFA);
        let amr = amr_of(&[Method::Password, Method::RecoveryCode, Method::Totp]);
        assert_eq!(amr, ["pwd", "otp", "mfa"]);
    }

    #[test]
    fn a_passkey_verifying_the_user_is_two_factors_on_its_own() {
        let pk = Method::Passkey {
            verified: true,
            hardware: false,
        };
        assert_eq!(amr_of(&[pk]), ["swk", "user", "mfa"]);
        let bare = Method::Passkey {
            verified: false,
            hardware: false,
        };
        assert_eq!(amr_of(&[bare]), ["swk"]);
        assert!(!bare.identifies());
        assert_eq!(amr_of(&[Method::Password, bare]), ["pwd", "swk", "mfa"]);
    }

    #[test]
    fn an_upstream_sign_in_is_one_factor_until_a_code_joins_it() {
        assert_eq!(amr_of(&[Method::Federated]), ["fed"]);
        assert!(Method::Federated.identifies());
        assert!(!Method::Federated.is_possession());
        assert_eq!(
            amr_of(&[Method::Federated, Method::Totp]),
            ["fed", "otp", "mfa"]
        );
    }

    #[test]
    fn acr_values_ask_for_the_weakest_known_value() {
        assert_eq!(requested_acr(ACR_MFA), Some(ACR_MFA));
        assert_eq!(
            requested_acr("urn:other urn:mintgate:acr:mfa"),
            Some(ACR_MFA)
        );
        assert_eq!(
            requested_acr("urn:mintgate:acr:mfa urn:mintgate:acr:pwd"),
            Some(ACR_PWD)
        );
        assert_eq!(requested_acr("urn:other 1"), None);
        assert_eq!(requested_acr(""), None);
    }

    #[test]
    fn an_unknown_acr_is_never_met() {
        assert!(!meets(&["pwd".into(), "mfa".into()], "urn:other"));
    }
}
