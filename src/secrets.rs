//! Encryption at rest for secrets that cannot be hashed (signing keys, TOTP seeds, upstream
//! client secrets, SAML private keys).
//!
//! AES-256-GCM under a key-encryption key (KEK) read from `secrets_key_file`; the row id is the
//! associated data, so a ciphertext copied into another row does not decrypt. Every instance
//! must read the same key file. Sealed values look like `v1:<base64url(nonce || ciphertext)>`;
//! the version leaves room for KEK rotation.

use std::fs;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::crypto;

const VERSION: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read the secrets key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the secrets key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the secrets key file {0} does not hold a base64 32-byte key")]
    Malformed(String),
    #[error("a sealed secret could not be decrypted (wrong key file, or the value was altered)")]
    Decrypt,
}

/// Seals and opens secrets with the KEK. Cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Derived from the KEK for HMAC uses (CSRF tokens), never the KEK itself.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> Self {
        let mac_key = crypto::hmac_sha256(&key, b"mintgate mac key v1");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
            mac_key,
        }
    }

    /// Reads the key file, creating it (mode 0600) with a fresh random key when it is missing.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretsError> {
        let shown = path.display().to_string();
        match fs::read_to_string(path) {
            Ok(text) => {
                let bytes = STANDARD
                    .decode(text.trim())
                    .map_err(|_| SecretsError::Malformed(shown.clone()))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| SecretsError::Malformed(shown))?;
                Ok(Self::from_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crypto::random_bytes::<32>();
                match write_private_file(path, STANDARD.encode(key).as_bytes()) {
                    Ok(()) => Ok(Self::from_key(key)),
                    // Another instance created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(source) => Err(SecretsError::Create {
                        path: shown,
                        source,
                    }),
                }
            }
            Err(source) => Err(SecretsError::Read {
                path: shown,
                source,
            }),
        }
    }

    /// Encrypts `plaintext`, binding it to `row_id`.
    pub fn seal(&self, row_id: &str, plaintext: &[u8]) -> String {
        let nonce_bytes = crypto::random_bytes::<NONCE_LEN>();
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: row_id.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce_bytes.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(blob))
    }

    /// Decrypts a value sealed for `row_id`.
    pub fn open(&self, row_id: &str, sealed: &str) -> Result<Vec<u8>, SecretsError> {
        let blob = sealed
            .strip_prefix(VERSION)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(SecretsError::Decrypt)?;
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: row_id.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Decrypt)
    }

    /// A MAC key for a named purpose, derived from the KEK.
    pub fn derived_key(&self, purpose: &str) -> [u8; 32] {
        crypto::hmac_sha256(&self.mac_key, purpose.as_bytes())
    }
}

/// Writes a whole file under a temporary name, then links it into place, so a concurrent reader
/// never sees it half-written and two writers cannot both win (`AlreadyExists` for the loser).
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", crypto::random_base62(8)));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding_to_row() {
        let sb = SecretBox::from_key([7; 32]);
        let sealed = sb.seal("row-1", b"signing key");
        assert!(sealed.starts_with("v1:"));
        assert_eq!(sb.open("row-1", &sealed).unwrap(), b"signing key");
        assert!(matches!(
            sb.open("row-2", &sealed),
            Err(SecretsError::Decrypt)
        ));
        assert!(matches!(
            sb.open("row-1", "v1:AAAA"),
            Err(SecretsError::Decrypt)
        ));
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = SecretBox::from_key([1; 32]).seal("r", b"x");
        assert!(SecretBox::from_key([2; 32]).open("r", &sealed).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secrets.key");
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal("r", b"x");
        let b = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(b.open("r", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            SecretBox::load_or_create(&path),
            Err(SecretsError::Malformed(_))
        ));
    }
}
