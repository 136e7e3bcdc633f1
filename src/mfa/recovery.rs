//! Recovery codes: ten codes given when TOTP is confirmed (and when they are regenerated),
//! shown once, stored only as hashes, each accepted once in place of a TOTP code.

use crate::credentials::{HashedRecoveryCode, PlainRecoveryCode};

/// How many codes a set holds.
pub const CODES: usize = 10;
/// Characters of a code, shown in groups of four: `k7mq-2xph-ve9c-tr4w`.
const CODE_CHARS: usize = 16;
const GROUP: usize = 4;
/// Lower-case letters and digits without the look-alikes `0 o 1 l i` (31 characters: 16 of
/// them carry 79 bits, beyond guessing and beyond brute-forcing the unsalted SHA-256 stored).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh set of [`CODES`] codes, as shown to the user.
pub fn generate() -> Vec<PlainRecoveryCode> {
    (0..CODES)
        .map(|_| {
            let raw = crate::crypto::random_from(ALPHABET, CODE_CHARS);
            let groups: Vec<&str> = (0..CODE_CHARS / GROUP)
                .map(|g| &raw[g * GROUP..(g + 1) * GROUP])
                .collect();
            PlainRecoveryCode::new(groups.join("-"))
        })
        .collect()
}

/// The stored form of a code as typed: case, spaces and dashes do not matter. `None` for what
/// cannot be a code (so nothing is looked up).
pub fn hash_typed(typed: &str) -> Option<HashedRecoveryCode> {
    let chars: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    if chars.len() != CODE_CHARS || !chars.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    let groups: Vec<&str> = (0..CODE_CHARS / GROUP)
        .map(|g| &chars[g * GROUP..(g + 1) * GROUP])
        .collect();
    Some(PlainRecoveryCode::new(groups.join("-")).hash())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_in_groups() {
        let codes = generate();
        assert_eq!(codes.len(), CODES);
        let mut shown: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
        shown.sort_unstable();
        shown.dedup();
        assert_eq!(shown.len(), CODES);
        for c in &codes {
            assert_eq!(c.expose().len(), 19);
            assert_eq!(c.expose().matches('-').count(), 3);
        }
    }

    #[test]
    fn a_code_as_typed_hashes_as_stored() {
        let code = &generate()[0];
        let stored = code.hash();
        let typed = code.expose().to_uppercase().replace('-', " ");
        assert!(hash_typed(&typed).unwrap().matches(&stored));
        assert!(
            hash_typed(&code.expose().replace('-', ""))
                .unwrap()
                .matches(&stored)
        );
        assert!(hash_typed("123456").is_none());
        assert!(hash_typed("k7mq-2xph-ve9c-tr4").is_none());
        assert!(
            hash_typed("k7mq-2xph-ve9c-tr40").is_none(),
            "0 is not in the alphabet"
        );
    }
}
