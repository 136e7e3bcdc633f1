//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: the OWASP baseline) on a bounded
//! number of threads: at most one hash per core runs at a time and a short queue waits, so a
//! flood of sign-ins cannot take all memory or CPU; past the queue callers get `Busy` (429).

use std::sync::{Arc, Condvar, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("too many password checks are waiting; try again shortly")]
pub struct Busy;

#[derive(Debug, Default)]
struct GateState {
    running: usize,
    waiting: usize,
}

#[derive(Debug)]
struct Gate {
    state: Mutex<GateState>,
    freed: Condvar,
    workers: usize,
    queue: usize,
}

struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        s.running -= 1;
        self.0.freed.notify_one();
    }
}

impl Gate {
    fn acquire(&self) -> Result<Permit<'_>, Busy> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.running >= self.workers {
            if s.waiting >= self.queue {
                return Err(Busy);
            }
            s.waiting += 1;
            while s.running >= self.workers {
                s = self.freed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            s.waiting -= 1;
        }
        s.running += 1;
        Ok(Permit(self))
    }
}

/// Hashes and verifies passwords. Cheap to clone. Call from blocking threads only.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    gate: Arc<Gate>,
    /// Verified against when the user is unknown, so both cases cost one hash.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `workers` concurrent hashes (one per core), `queue` more may wait.
    pub fn new(workers: usize, queue: usize) -> Self {
        let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let dummy_hash = argon2
            .hash_password(b"mintgate timing equaliser", &salt)
            .expect("argon2 hashing of a static input succeeds")
            .to_string();
        Self {
            argon2,
            gate: Arc::new(Gate {
                state: Mutex::new(GateState::default()),
                freed: Condvar::new(),
                workers: workers.max(1),
                queue,
            }),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// One worker per available core.
    pub fn per_core(queue: usize) -> Self {
        Self::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            queue,
        )
    }

    pub fn hash(&self, password: &SecretString) -> Result<String, Busy> {
        let _permit = self.gate.acquire()?;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Ok(self
            .argon2
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .expect("argon2id with valid parameters and a fresh salt cannot fail")
            .to_string())
    }

    /// Checks `password` against `stored`; with no stored hash it still spends one hash and
    /// answers false, so unknown users take as long as known ones.
    pub fn verify(&self, password: &SecretString, stored: Option<&str>) -> Result<bool, Busy> {
        let _permit = self.gate.acquire()?;
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (&*self.dummy_hash, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            tracing::error!("a stored password hash does not parse; the sign-in is refused");
            return Ok(false);
        };
        let ok = self
            .argon2
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = PasswordHasher::new(1, 0);
        let pw = SecretString::from("correct horse");
        let stored = h.hash(&pw).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(&pw, Some(&stored)).unwrap());
        assert!(
            !h.verify(&SecretString::from("wrong"), Some(&stored))
                .unwrap()
        );
        assert!(!h.verify(&pw, None).unwrap());
    }

    #[test]
    fn full_queue_is_busy() {
        let gate = Gate {
            state: Mutex::new(GateState::default()),
            freed: Condvar::new(),
            workers: 1,
            queue: 0,
        };
        let held = gate.acquire().unwrap();
        assert_eq!(gate.acquire().err(), Some(Busy));
        drop(held);
        assert!(gate.acquire().is_ok());
    }
}
