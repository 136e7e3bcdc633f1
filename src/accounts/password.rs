//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: the OWASP baseline) on a bounded
//! number of threads: at most one hash per core runs at a time and a short queue waits, so a
//! flood of sign-ins cannot take all memory or CPU; past the queue callers get `Busy` (429).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("too many password checks are waiting; try again shortly")]
pub struct Busy;

/// A job runs with the worker's argon2 instance and its reusable working memory.
type Job = Box<dyn FnOnce(&Argon2<'static>, &mut Vec<Block>) + Send>;

const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Hashes and verifies passwords on its own threads, one per core: only those threads ever
/// hold argon2's 19 MiB working memory, so the allocator keeps at most one such block per
/// core (hashing on arbitrary blocking threads left one per thread's malloc arena).
/// Cheap to clone; the threads end when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: SyncSender<Job>,
    /// Jobs running or waiting, at most `limit` (workers + queue).
    in_flight: Arc<AtomicUsize>,
    limit: usize,
    /// Verified against when the user is unknown, so both cases cost one hash.
    dummy_hash: Arc<str>,
}

fn argon2id() -> Argon2<'static> {
    let params =
        Params::new(M_COST, T_COST, P_COST, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How long a hashing thread keeps its working memory after its last job.
const KEEP_MEMORY: Duration = Duration::from_secs(10);

fn worker(jobs: Arc<Mutex<Receiver<Job>>>) {
    let argon2 = argon2id();
    // Allocated by the first verification and reused while sign-ins keep coming (no 19 MiB
    // allocation per sign-in), freed after `KEEP_MEMORY` without one (none held while idle).
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let next = {
            let jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            if memory.is_empty() {
                jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                jobs.recv_timeout(KEEP_MEMORY)
            }
        };
        match next {
            Ok(job) => job(&argon2, &mut memory),
            Err(RecvTimeoutError::Timeout) => memory = Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl PasswordHasher {
    /// `workers` threads hash; `queue` more requests may wait; beyond that: [`Busy`].
    pub fn new(workers: usize, queue: usize) -> Self {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let dummy_hash = argon2id()
            .hash_password(b"mintgate timing equaliser", &salt)
            .expect("argon2 hashing of a static input succeeds")
            .to_string();
        let workers = workers.max(1);
        let (tx, rx) = sync_channel::<Job>(workers + queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("mintgate-argon2-{i}"))
                .spawn(move || worker(rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            jobs: tx,
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit: workers + queue,
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

    /// Runs `f` on a hashing thread and waits for it (call from a blocking thread).
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Argon2<'static>, &mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let (reply, answer) = sync_channel(1);
        let in_flight = self.in_flight.clone();
        let job: Job = Box::new(move |argon2, memory| {
            let result = f(argon2, memory);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(result);
        });
        // Admitted jobs always fit: the channel holds `limit` of them.
        if self.jobs.try_send(job).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        answer.recv().map_err(|_| Busy)
    }

    pub fn hash(&self, password: &SecretString) -> Result<String, Busy> {
        let password = password.clone();
        self.run(move |argon2, _| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .expect("argon2id with valid parameters and a fresh salt cannot fail")
                .to_string()
        })
    }

    /// Checks `password` against `stored`; with no stored hash it still spends one hash and
    /// answers false, so unknown users take as long as known ones.
    pub fn verify(&self, password: &SecretString, stored: Option<&str>) -> Result<bool, Busy> {
        let password = password.clone();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        self.run(move |argon2, memory| {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                tracing::error!("a stored password hash does not parse; the sign-in is refused");
                return false;
            };
            let password = password.expose_secret().as_bytes();
            let ok = verify_with_memory(argon2, memory, password, &parsed)
                .unwrap_or_else(|| argon2.verify_password(password, &parsed).is_ok());
            ok && real
        })
    }
}

/// Verifies a hash made with our own parameters in the worker's memory; `None` for hashes made
/// with other parameters (verified the allocating way).
fn verify_with_memory(
    argon2: &Argon2<'static>,
    memory: &mut Vec<Block>,
    password: &[u8],
    parsed: &PasswordHash<'_>,
) -> Option<bool> {
    let params = Params::try_from(parsed).ok()?;
    let ours = parsed.algorithm == Algorithm::Argon2id.ident()
        && params.m_cost() == M_COST
        && params.t_cost() == T_COST
        && params.p_cost() == P_COST;
    if !ours {
        return None;
    }
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let expected = parsed.hash?;
    let mut out = [0u8; 64];
    let out = out.get_mut(..expected.len())?;
    if memory.is_empty() {
        *memory = vec![Block::default(); M_COST as usize];
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, memory)
        .ok()?;
    Some(crate::crypto::ct_eq(out, expected.as_bytes()))
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
    fn hashes_with_other_parameters_still_verify() {
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let stored = other
            .hash_password(b"older hash", &salt)
            .unwrap()
            .to_string();
        let h = PasswordHasher::new(1, 0);
        assert!(
            h.verify(&SecretString::from("older hash"), Some(&stored))
                .unwrap()
        );
        assert!(
            !h.verify(&SecretString::from("wrong"), Some(&stored))
                .unwrap()
        );
    }

    #[test]
    fn full_queue_is_busy() {
        let h = PasswordHasher::new(1, 0);
        let (release, wait) = sync_channel::<()>(0);
        let (started_tx, started) = sync_channel::<()>(0);
        let h2 = h.clone();
        let busy = std::thread::spawn(move || {
            h2.run(move |_, _| {
                started_tx.send(()).unwrap();
                wait.recv().unwrap();
            })
        });
        started.recv().unwrap();
        assert_eq!(
            h.hash(&SecretString::from("x")).err(),
            Some(Busy),
            "no queue: the only worker is busy"
        );
        release.send(()).unwrap();
        busy.join().unwrap().unwrap();
        assert!(h.hash(&SecretString::from("password")).is_ok());
    }
}
