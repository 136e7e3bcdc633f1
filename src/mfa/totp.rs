//! Time-based one-time passwords (RFC 6238) as authenticator apps compute them: HMAC-SHA-1,
//! 6 digits, 30-second steps, and one step of clock skew either way (§5.2). Pure: the seed and
//! the time are given; which step was already used is the store's business
//! ([`super::store::TotpStore::accept_totp_step`]), so a code is accepted once.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::clock::UnixTime;

/// Digits of a code.
pub const DIGITS: u8 = 6;
/// Seconds per time step (RFC 6238 §5.2 recommends 30).
pub const STEP: u64 = 30;
/// Steps of skew accepted either side of the current one.
pub const SKEW: u16 = 1;
/// Bytes of a new seed: 160 bits, the length RFC 4226 §4 recommends for HMAC-SHA-1.
pub const SEED_LEN: usize = 20;

/// A TOTP seed. Its `Debug` hides it; it leaves the server only once, at enrolment (the QR code
/// and the text shown), and is stored sealed.
#[derive(Clone)]
pub struct Seed(Vec<u8>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

impl Seed {
    /// A fresh random seed.
    pub fn generate() -> Self {
        Seed(crate::crypto::random_bytes::<SEED_LEN>().to_vec())
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Seed(bytes)
    }

    /// The bytes to seal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The seed as authenticator apps take it typed in: RFC 4648 base32 without padding.
    pub fn base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, digits: u8, label: Option<(&str, &str)>) -> Totp {
        let builder = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(SKEW)
            .with_step_duration(STEP)
            .with_secret(self.0.clone());
        let builder = match label {
            Some((issuer, account)) => builder
                .with_issuer(Some(label_part(issuer)))
                .with_account_name(label_part(account)),
            None => builder,
        };
        // Our parameters are fixed and valid; `build_noncompliant` only skips the checks
        // (seed length, label characters) that `label_part` and `SEED_LEN` already ensure.
        builder.build_noncompliant()
    }

    /// The step of `now` or one step either side whose code `code` is (6 digits, spaces
    /// ignored), compared in constant time; `None` when it is none of them.
    pub fn check(&self, code: &str, now: UnixTime) -> Option<i64> {
        let code = normalise(code)?;
        let now = u64::try_from(now).ok()?;
        self.totp(DIGITS, None)
            .check(&code, now)
            .and_then(|step| i64::try_from(step).ok())
    }

    /// The code of the step `now` falls in (what an authenticator app shows at `now`).
    pub fn code_at(&self, now: UnixTime) -> String {
        self.totp(DIGITS, None)
            .generate(u64::try_from(now).unwrap_or(0))
            .to_string()
    }

    /// The `otpauth://totp/...` URL (Google Authenticator's key URI format) that the QR code
    /// holds: issuer and account name label the entry in the app.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> Option<String> {
        self.totp(DIGITS, Some((issuer, account))).to_url().ok()
    }

    /// The QR code of [`Self::otpauth_url`] as a base64 PNG, for a `data:` image in the page
    /// (no external service sees the seed).
    pub fn qr_png_base64(&self, issuer: &str, account: &str) -> Option<String> {
        self.totp(DIGITS, Some((issuer, account)))
            .to_qr_base64()
            .ok()
    }
}

/// A label part without the `:` the key URI format reserves as its separator.
fn label_part(s: &str) -> String {
    s.replace(':', " ")
}

/// The code as typed, without the spaces apps show in it: exactly [`DIGITS`] ASCII digits.
pub fn normalise(code: &str) -> Option<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed, the ASCII of "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// Appendix B's SHA-1 rows: time and the 8-digit TOTP.
    const VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let seed = Seed::from_bytes(RFC_SEED.to_vec());
        for (time, expected) in VECTORS {
            assert_eq!(seed.totp(8, None).generate(time).to_string(), expected);
            // Six digits are the same truncated value modulo 10^6: the last six.
            assert_eq!(seed.code_at(time as i64), expected[2..]);
            assert_eq!(
                seed.check(&expected[2..], time as i64),
                Some((time / STEP) as i64)
            );
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_not_two() {
        let seed = Seed::generate();
        let now = 1_700_000_015;
        let step = now / STEP as i64;
        for d in [-1, 0, 1] {
            let code = seed.code_at(now + d * STEP as i64);
            assert_eq!(seed.check(&code, now), Some(step + d), "skew {d}");
        }
        for d in [-2, 2] {
            let code = seed.code_at(now + d * STEP as i64);
            // A code of two steps away may coincide with a nearby step's by chance (1 in 10^6).
            if (-1..=1).all(|n| seed.code_at(now + n * STEP as i64) != code) {
                assert_eq!(seed.check(&code, now), None, "skew {d}");
            }
        }
    }

    #[test]
    fn codes_are_six_digits_spaces_ignored() {
        let seed = Seed::from_bytes(RFC_SEED.to_vec());
        assert_eq!(seed.check("287 082", 59), Some(1));
        assert_eq!(seed.check("28708", 59), None);
        assert_eq!(seed.check("2870820", 59), None);
        assert_eq!(seed.check("+87082", 59), None);
        assert_eq!(seed.check("２８７０８２", 59), None);
        assert_eq!(seed.check("", 59), None);
    }

    #[test]
    fn the_url_names_the_seed_and_the_account() {
        let seed = Seed::from_bytes(RFC_SEED.to_vec());
        let url = seed.otpauth_url("mintgate", "ada:x").unwrap();
        assert!(url.starts_with("otpauth://totp/mintgate:ada%20x?"), "{url}");
        assert!(
            url.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{url}"
        );
        assert!(seed.qr_png_base64("mintgate", "ada").is_some());
        assert_eq!(format!("{seed:?}"), "Seed(..)");
    }
}
