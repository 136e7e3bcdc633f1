//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: the OWASP baseline) on a bounded
//! number of threads: at most one hash per core runs at a time and a short queue waits, so a
//! flood of sign-ins cannot take all memory or CPU; past the queue callers get `Busy` (429).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
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
    jobs: Arc<Queue>,
    /// Ends the threads when the last clone is dropped.
    _closer: Arc<Closer>,
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

/// A working buffer's capacity in 1 KiB blocks: above glibc's largest mmap threshold (32 MiB),
/// so every buffer is a mapping of its own that goes back to the system when freed. A 19 MiB
/// buffer, once glibc had raised its threshold past it, stayed in a malloc arena for good.
/// Only the first `M_COST` blocks are ever touched, so only they count in RSS.
const BUFFER_BLOCKS: usize = 33 * 1024;

fn working_memory() -> Vec<Block> {
    let mut memory = Vec::with_capacity(BUFFER_BLOCKS);
    memory.resize(M_COST as usize, Block::default());
    memory
}

/// Hashes with our parameters in `memory` (allocated if empty) into a PHC string.
fn hash_with_memory(argon2: &Argon2<'static>, memory: &mut Vec<Block>, password: &[u8]) -> String {
    if memory.is_empty() {
        *memory = working_memory();
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut raw_salt)
        .expect("a generated salt decodes");
    let mut out = [0u8; 32];
    argon2
        .hash_password_into_with_memory(password, raw_salt, &mut out, &mut memory[..])
        .expect("argon2id with valid parameters and a fresh salt cannot fail");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2
            .params()
            .try_into()
            .expect("static argon2 parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("a 32-byte output is valid")),
    }
    .to_string()
}

/// Gives back a job's place in the admission count when the job ends, however it ends.
struct Release(Arc<AtomicUsize>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long a hashing thread keeps its working memory after its last job.
const KEEP_MEMORY: Duration = Duration::from_secs(10);

/// Jobs waiting for a hashing thread. A lock and a condition variable rather than a channel:
/// every idle thread then waits on its own, with its own timeout for freeing its memory.
#[derive(Default)]
struct Queue {
    state: Mutex<Waiting>,
    ready: Condvar,
}

#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    /// Set when the last `PasswordHasher` clone is gone: the threads end.
    closed: bool,
}

/// Closes the queue when dropped, which happens with the last `PasswordHasher` clone.
struct Closer(Arc<Queue>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.ready.notify_all();
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn worker(queue: &Queue) {
    let argon2 = argon2id();
    // Allocated by the first job and reused while sign-ins keep coming (no 19 MiB allocation
    // per sign-in), freed after `KEEP_MEMORY` without one (none held while idle).
    let mut memory: Vec<Block> = Vec::new();
    let mut waiting = queue.lock();
    loop {
        if let Some(job) = waiting.jobs.pop_front() {
            drop(waiting);
            // A panicking job must not take the thread (and with the last one, every
            // sign-in) down with it.
            if catch_unwind(AssertUnwindSafe(|| job(&argon2, &mut memory))).is_err() {
                tracing::error!("a password hashing job panicked");
                memory = Vec::new();
            }
            waiting = queue.lock();
            continue;
        }
        if waiting.closed {
            return;
        }
        if memory.is_empty() {
            waiting = queue
                .ready
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        } else {
            let (w, timeout) = queue
                .ready
                .wait_timeout(waiting, KEEP_MEMORY)
                .unwrap_or_else(PoisonError::into_inner);
            waiting = w;
            if timeout.timed_out() && waiting.jobs.is_empty() {
                drop(waiting);
                memory = Vec::new();
                waiting = queue.lock();
            }
        }
    }
}

impl PasswordHasher {
    /// `workers` threads hash; `queue` more requests may wait; beyond that: [`Busy`].
    pub fn new(workers: usize, queue: usize) -> Self {
        // One per process: every hasher (the tests start hundreds of servers in one process)
        // verifies unknown users against the same hash of a public string.
        static DUMMY_HASH: OnceLock<Arc<str>> = OnceLock::new();
        let dummy_hash = DUMMY_HASH
            .get_or_init(|| {
                hash_with_memory(&argon2id(), &mut Vec::new(), b"mintgate timing equaliser").into()
            })
            .clone();
        let workers = workers.max(1);
        let jobs = Arc::new(Queue::default());
        let mut started = 0;
        for i in 0..workers {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("mintgate-argon2-{i}"))
                .spawn(move || worker(&jobs));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a password hashing thread"),
            }
        }
        Self {
            _closer: Arc::new(Closer(jobs.clone())),
            jobs,
            in_flight: Arc::new(AtomicUsize::new(0)),
            // With no thread to run them, jobs would wait forever: refuse them all instead.
            limit: if started == 0 { 0 } else { started + queue },
            dummy_hash,
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
            // Released even if `f` panics (the caller then reads a dropped reply as Busy).
            let release = Release(in_flight);
            let result = f(argon2, memory);
            drop(release); // before answering: the caller may submit again at once
            let _ = reply.send(result);
        });
        self.jobs.lock().jobs.push_back(job);
        self.jobs.ready.notify_one();
        answer.recv().map_err(|_| Busy)
    }

    pub fn hash(&self, password: &SecretString) -> Result<String, Busy> {
        let password = password.clone();
        self.run(move |argon2, memory| {
            hash_with_memory(argon2, memory, password.expose_secret().as_bytes())
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
        *memory = working_memory();
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, memory)
        .ok()?;
    Some(crate::crypto::ct_eq(out, expected.as_bytes()))
}

/// The length rule of every password set on this server: 8 to 1024 characters.
pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 1024;

/// Whether `password` has an allowed length ([`MIN_CHARS`]..=[`MAX_CHARS`] characters).
pub fn length_ok(password: &str) -> bool {
    (MIN_CHARS..=MAX_CHARS).contains(&password.chars().count())
}

/// How much of a password zxcvbn looks at: its matching grows quickly with the length, and a
/// password this long that is still guessable in its first 100 characters is guessable.
const ESTIMATED_CHARS: usize = 100;

/// Why a new password was refused, with the words shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeakPassword {
    /// Outside the length rule ([`length_ok`]).
    Length,
    /// zxcvbn scores it below 3 ("safely unguessable"); its warning and suggestions say why.
    Guessable {
        warning: Option<String>,
        suggestions: Vec<String>,
    },
}

impl std::fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeakPassword::Length => {
                write!(f, "A password has {MIN_CHARS} to {MAX_CHARS} characters.")
            }
            WeakPassword::Guessable {
                warning,
                suggestions,
            } => {
                f.write_str("This password is too easy to guess.")?;
                if let Some(w) = warning {
                    write!(f, " {w}")?;
                }
                for s in suggestions {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WeakPassword {}

/// The one strength rule for a new password, wherever it is set (change, reset, invitation,
/// the CLI): the length rule, then zxcvbn's estimate, refused below a score of 3 (zxcvbn's
/// "safely unguessable: moderate protection from offline slow-hash scenario"). `user_inputs`
/// are the account's own words (username, e-mail, name), which a guesser tries first.
/// CPU-bound (a few milliseconds): call it off the async workers.
pub fn check_strength(password: &str, user_inputs: &[&str]) -> Result<(), WeakPassword> {
    if !length_ok(password) {
        return Err(WeakPassword::Length);
    }
    let estimated: String = password.chars().take(ESTIMATED_CHARS).collect();
    let mut inputs: Vec<&str> = Vec::with_capacity(user_inputs.len() * 2);
    for input in user_inputs {
        inputs.push(input);
        // An address's local part and a name's words are guessed on their own too.
        if let Some((local, _)) = input.split_once('@') {
            inputs.push(local);
        }
        inputs.extend(input.split_whitespace().filter(|w| w.len() > 2));
    }
    let entropy = zxcvbn::zxcvbn(&estimated, &inputs);
    if entropy.score() >= zxcvbn::Score::Three {
        return Ok(());
    }
    let (warning, suggestions) = match entropy.feedback() {
        Some(feedback) => (
            feedback.warning().map(|w| w.to_string()),
            feedback
                .suggestions()
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    Err(WeakPassword::Guessable {
        warning,
        suggestions,
    })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    #[test]
    fn strength_refuses_short_and_guessable_passwords_with_feedback() {
        assert_eq!(check_strength("short", &[]), Err(WeakPassword::Length));
        assert_eq!(
            check_strength(&"x".repeat(MAX_CHARS + 1), &[]),
            Err(WeakPassword::Length)
        );
        let weak = check_strength("password123", &[]).unwrap_err();
        assert!(matches!(weak, WeakPassword::Guessable { .. }));
        assert!(
            weak.to_string()
                .starts_with("This password is too easy to guess.")
        );
        // The account's own words count against it.
        let strong_elsewhere = "zebulon-quartzite-88";
        assert!(check_strength(strong_elsewhere, &[]).is_ok());
        assert!(
            check_strength(
                "alice.wonderland1",
                &["alice.wonderland", "alice@example.com"]
            )
            .is_err()
        );
        assert!(check_strength("correct horse battery staple", &[]).is_ok());
    }

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
        // The argon2 crate's own verifier agrees with the PHC string we assemble.
        let parsed = PasswordHash::new(&stored).unwrap();
        assert!(
            argon2id()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(argon2id().verify_password(b"wrong", &parsed).is_err());
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
    fn a_panicking_job_leaves_the_hasher_working() {
        let h = PasswordHasher::new(1, 0);
        assert_eq!(
            h.run(|_, _| -> () { panic!("a job panics") }).err(),
            Some(Busy)
        );
        // The only thread survived and the job's place was given back.
        assert!(h.hash(&SecretString::from("password")).is_ok());
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
