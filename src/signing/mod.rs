//! Signing keys: RS256 (required by OIDC), ES256 and EdDSA, kept in the database sealed with the
//! secrets key so every instance signs with the same keys, held in memory as parsed key pairs
//! (signing is on the hot path), and published as a JWKS that is serialised once per change.
//!
//! Signing uses aws-lc-rs directly (constant-time RSA; not the `rsa` crate, RUSTSEC-2023-0071).
//! Verification of our own tokens (id_token_hint, JWT access tokens) uses `jsonwebtoken`.

pub mod store;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::clock::UnixTime;
use crate::crypto;
use crate::secrets::SecretBox;

/// How long clients may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE: i64 = 300;
/// How often each instance reloads keys from the database.
pub const REFRESH_INTERVAL: i64 = 60;
/// A retired key stays published this long after it stopped signing: longer than any token it
/// can have signed (ID tokens 1 h, JWT access tokens at most the client's lifetime, capped at 1 d).
pub const RETIRED_KEY_PUBLISHED_FOR: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlg::Rs256 => Algorithm::RS256,
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The left half of the hash the JWS algorithm uses, base64url (OIDC Core §3.1.3.6 at_hash).
    /// Ed25519 signs with SHA-512, so its half is the first 32 bytes of SHA-512.
    pub fn half_hash(self, value: &str) -> String {
        match self {
            SigningAlg::Rs256 | SigningAlg::Es256 => {
                URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16])
            }
            SigningAlg::EdDsa => URL_SAFE_NO_PAD.encode(&Sha512::digest(value.as_bytes())[..32]),
        }
    }
}

/// An algorithm name other than the three mintgate signs with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not one of RS256, ES256, EdDSA")]
pub struct UnknownAlg(pub String);

impl FromStr for SigningAlg {
    type Err = UnknownAlg;
    fn from_str(s: &str) -> Result<Self, UnknownAlg> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlg(s.to_owned()))
    }
}

/// Why a signing key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(aws_lc_rs::error::Unspecified),
    #[error("stored {alg} key rejected: {reason}")]
    Rejected {
        alg: &'static str,
        reason: aws_lc_rs::error::KeyRejected,
    },
    /// A stored key whose sealed private part or public JWK cannot be read.
    #[error("signing key {kid}: {source}")]
    Stored { kid: String, source: StoredKeyError },
}

/// What is wrong with a stored key (see [`KeyError::Stored`]).
#[derive(Debug, thiserror::Error)]
pub enum StoredKeyError {
    #[error(transparent)]
    Sealed(#[from] crate::secrets::SecretsError),
    #[error(transparent)]
    Jwk(#[from] serde_json::Error),
    #[error("JWK without {0}")]
    MissingMember(&'static str),
    #[error("unsupported kty {0}")]
    UnsupportedKty(String),
    #[error(transparent)]
    Decoding(#[from] jsonwebtoken::errors::Error),
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A stored key as the store returns it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// Sealed PKCS#8 DER (base64url inside the sealed value).
    pub private_key: String,
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub active_from: UnixTime,
    pub retired_at: Option<UnixTime>,
    pub published_until: Option<UnixTime>,
}

/// Generates a key pair; returns it ready to store (private part sealed under the kid).
pub fn generate(
    alg: SigningAlg,
    secrets: &SecretBox,
    now: UnixTime,
    active_from: UnixTime,
) -> Result<StoredKey, KeyError> {
    let kid = crypto::random_base62(16);
    let err = KeyError::Generate;
    let pkcs8: Vec<u8> = match alg {
        SigningAlg::Rs256 => {
            let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(err)?;
            kp.as_der().map_err(err)?.as_ref().to_vec()
        }
        SigningAlg::Es256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(err)?;
            kp.to_pkcs8v1().map_err(err)?.as_ref().to_vec()
        }
        SigningAlg::EdDsa => {
            let kp = Ed25519KeyPair::generate().map_err(err)?;
            kp.to_pkcs8v1().map_err(err)?.as_ref().to_vec()
        }
    };
    let signer = parse_signer(alg, &pkcs8)?;
    let jwk = public_jwk(&kid, alg, &signer);
    Ok(StoredKey {
        private_key: secrets.seal(&format!("signing_key:{kid}"), &pkcs8),
        kid,
        alg,
        public_jwk: jwk.to_string(),
        created_at: now,
        active_from,
        retired_at: None,
        published_until: None,
    })
}

fn parse_signer(alg: SigningAlg, pkcs8: &[u8]) -> Result<Signer, KeyError> {
    let err = |reason| KeyError::Rejected {
        alg: alg.as_str(),
        reason,
    };
    Ok(match alg {
        SigningAlg::Rs256 => Signer::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(err)?),
        SigningAlg::Es256 => Signer::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(err)?,
        ),
        SigningAlg::EdDsa => Signer::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(err)?),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn public_jwk(kid: &str, alg: SigningAlg, signer: &Signer) -> serde_json::Value {
    match signer {
        Signer::Rsa(kp) => {
            let public = kp.public_key();
            serde_json::json!({
                "kty": "RSA", "use": "sig", "alg": alg.as_str(), "kid": kid,
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            })
        }
        Signer::Ec(kp) => {
            let point = kp.public_key().as_ref();
            serde_json::json!({
                "kty": "EC", "use": "sig", "alg": alg.as_str(), "kid": kid, "crv": "P-256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            })
        }
        Signer::Ed(kp) => serde_json::json!({
            "kty": "OKP", "use": "sig", "alg": alg.as_str(), "kid": kid, "crv": "Ed25519",
            "x": b64(kp.public_key().as_ref()),
        }),
    }
}

struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    signer: Signer,
    /// The private key, PKCS#8 DER: SAML signs XML through xmlsec, which wants the DER.
    pkcs8: Vec<u8>,
    created_at: UnixTime,
    active_from: UnixTime,
    retired_at: Option<UnixTime>,
    decoding: DecodingKey,
}

/// The keys as loaded at one moment.
pub struct KeySet {
    keys: Vec<LoadedKey>,
    by_kid: HashMap<String, usize>,
    /// The JWKS document, serialised once.
    pub jwks_json: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no active {0} signing key")]
    NoKey(&'static str),
    #[error("signing failed")]
    Sign,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

impl KeySet {
    /// Parses the stored keys (opening the sealed private parts).
    pub fn load(
        stored: &[StoredKey],
        secrets: &SecretBox,
        now: UnixTime,
    ) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        let mut jwks = Vec::new();
        for k in stored {
            if k.published_until.is_some_and(|until| until <= now) {
                continue;
            }
            let stored = |source: StoredKeyError| KeyError::Stored {
                kid: k.kid.clone(),
                source,
            };
            let pkcs8 = secrets
                .open(&format!("signing_key:{}", k.kid), &k.private_key)
                .map_err(|e| stored(e.into()))?;
            let signer = parse_signer(k.alg, &pkcs8)?;
            let jwk: serde_json::Value =
                serde_json::from_str(&k.public_jwk).map_err(|e| stored(e.into()))?;
            let decoding = decoding_key(&jwk).map_err(stored)?;
            jwks.push(jwk);
            keys.push(LoadedKey {
                kid: k.kid.clone(),
                alg: k.alg,
                signer,
                pkcs8,
                created_at: k.created_at,
                active_from: k.active_from,
                retired_at: k.retired_at,
                decoding,
            });
        }
        let by_kid = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.kid.clone(), i))
            .collect();
        let jwks_json = serde_json::json!({ "keys": jwks }).to_string().into();
        Ok(Self {
            keys,
            by_kid,
            jwks_json,
        })
    }

    /// The newest key of `alg` that has become active and is not retired.
    fn signing_key(&self, alg: SigningAlg, now: UnixTime) -> Option<&LoadedKey> {
        self.keys
            .iter()
            .filter(|k| {
                k.alg == alg && k.active_from <= now && k.retired_at.is_none_or(|r| r > now)
            })
            .max_by_key(|k| k.active_from)
    }

    /// The RS256 key that signs now (as [`KeySet::sign`] picks it), for SAML (issue #12): its
    /// PKCS#8 DER and creation time (its certificate's `notBefore`, see
    /// `crate::saml::certs::self_signed`).
    pub fn rs256_signing_pkcs8(&self, now: UnixTime) -> Option<(&[u8], UnixTime)> {
        self.signing_key(SigningAlg::Rs256, now)
            .map(|k| (k.pkcs8.as_slice(), k.created_at))
    }

    /// Every published RS256 key (next, current, retired: as the JWKS lists them), PKCS#8 DER
    /// and creation time, oldest first: the SAML metadata lists each one's certificate so a
    /// rotation is seen before the new key signs.
    pub fn rs256_published_pkcs8(&self) -> Vec<(&[u8], UnixTime)> {
        let mut keys: Vec<_> = self
            .keys
            .iter()
            .filter(|k| k.alg == SigningAlg::Rs256)
            .map(|k| (k.pkcs8.as_slice(), k.created_at))
            .collect();
        keys.sort_by_key(|k| k.1);
        keys
    }

    /// Signs `claims` as a compact JWS.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: Option<&str>,
        claims: &T,
        now: UnixTime,
    ) -> Result<String, JwtError> {
        let key = self
            .signing_key(alg, now)
            .ok_or(JwtError::NoKey(alg.as_str()))?;
        let header = serde_json::to_vec(&JwsHeader {
            alg: alg.as_str(),
            kid: &key.kid,
            typ,
        })
        .map_err(|_| JwtError::Sign)?;
        let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Sign)?;
        let mut token = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = match &key.signer {
            Signer::Rsa(kp) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    token.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| JwtError::Sign)?;
                sig
            }
            Signer::Ec(kp) => kp
                .sign(&SystemRandom::new(), token.as_bytes())
                .map_err(|_| JwtError::Sign)?
                .as_ref()
                .to_vec(),
            Signer::Ed(kp) => kp.sign(token.as_bytes()).as_ref().to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Verifies a token we signed: known `kid`, its algorithm, the signature, `iss`, and
    /// expiry unless `allow_expired` (an `id_token_hint` may have expired, RP-Initiated Logout §2).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        expected_typ: Option<&str>,
        allow_expired: bool,
    ) -> Result<T, JwtError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| JwtError::Invalid("no kid".into()))?;
        let key = self
            .by_kid
            .get(&kid)
            .map(|i| &self.keys[*i])
            .ok_or_else(|| JwtError::Invalid("unknown kid".into()))?;
        if header.alg != key.alg.jwt_algorithm() {
            return Err(JwtError::Invalid("algorithm does not match the key".into()));
        }
        if expected_typ.is_some() && header.typ.as_deref() != expected_typ {
            return Err(JwtError::Invalid("wrong typ".into()));
        }
        let mut validation = Validation::new(key.alg.jwt_algorithm());
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        if allow_expired {
            validation.validate_exp = false;
            validation.required_spec_claims.remove("exp");
        }
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| JwtError::Invalid(e.to_string()))
    }
}

fn decoding_key(jwk: &serde_json::Value) -> Result<DecodingKey, StoredKeyError> {
    let s = |k: &'static str| jwk[k].as_str().ok_or(StoredKeyError::MissingMember(k));
    Ok(match s("kty")? {
        "RSA" => DecodingKey::from_rsa_components(s("n")?, s("e")?)?,
        "EC" => DecodingKey::from_ec_components(s("x")?, s("y")?)?,
        "OKP" => DecodingKey::from_ed_components(s("x")?)?,
        other => return Err(StoredKeyError::UnsupportedKty(other.to_owned())),
    })
}

/// The current key set, shared by the workers of one instance and reloaded periodically.
#[derive(Clone)]
pub struct Keys(Arc<RwLock<Arc<KeySet>>>);

impl Keys {
    pub fn new(set: KeySet) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(set))))
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn replace(&self, set: KeySet) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }
}

/// The times a rotation uses: the new key signs only once every cache of the old JWKS has
/// expired and every instance has reloaded; the old key stays published until the tokens it
/// signed have expired.
pub fn rotation_times(now: UnixTime) -> (UnixTime, UnixTime) {
    let active_from = now + JWKS_MAX_AGE + REFRESH_INTERVAL;
    (active_from, active_from + RETIRED_KEY_PUBLISHED_FOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Claims {
        iss: String,
        exp: i64,
        sub: String,
    }

    #[test]
    fn sign_and_verify_every_algorithm() {
        let secrets = SecretBox::from_key([3; 32]);
        let now = 1_700_000_000;
        let stored: Vec<_> = SigningAlg::ALL
            .iter()
            .map(|a| generate(*a, &secrets, now, now).unwrap())
            .collect();
        let set = KeySet::load(&stored, &secrets, now).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(&set.jwks_json).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
        let far = chrono::Utc::now().timestamp() + 3600;
        for alg in SigningAlg::ALL {
            let claims = Claims {
                iss: "https://id.example".into(),
                exp: far,
                sub: "u".into(),
            };
            let token = set.sign(alg, Some("JWT"), &claims, now).unwrap();
            let back: Claims = set
                .verify(&token, "https://id.example", Some("JWT"), false)
                .unwrap();
            assert_eq!(back, claims);
            assert!(
                set.verify::<Claims>(&token, "https://other.example", None, false)
                    .is_err()
            );
            let mut tampered = token.clone();
            tampered.replace_range(token.len() - 5.., "AAAAA");
            assert!(
                set.verify::<Claims>(&tampered, "https://id.example", None, false)
                    .is_err()
            );
        }
    }

    #[test]
    fn at_hash_vectors() {
        // OIDC Core §A.3: access_token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" → at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            SigningAlg::Rs256.half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
