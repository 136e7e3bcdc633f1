//! Brute-force protection for sign-in: failure counters per account and per client address,
//! shared by all instances through the store. After `max` failures within the window the key is
//! locked for `lockout`, doubling with each further failure up to `lockout_max`.
//!
//! An attempt is *reserved* before the password is hashed: the store counts it as a failure
//! up front in one conditional statement that also refuses it when the key is locked or already
//! has `max` attempts counted, and a success gives the reservation back. So however many
//! requests race, at most `max` guesses are ever evaluated per key, on every instance.

use std::net::IpAddr;
use std::time::Duration;

use crate::accounts::store::{Reservation, ThrottleStore};
use crate::clock::UnixTime;
use crate::config::LoginSettings;
use crate::ids::UserId;
use crate::store::StoreResult;

#[derive(Debug, Clone)]
pub struct Throttle {
    pub account_max: u32,
    pub ip_max: u32,
    pub lockout: Duration,
    pub lockout_max: Duration,
    pub window: Duration,
}

impl From<&LoginSettings> for Throttle {
    fn from(login: &LoginSettings) -> Self {
        Self {
            account_max: login.max_failures,
            ip_max: login.ip_max_failures,
            lockout: login.lockout,
            lockout_max: login.lockout_max,
            window: login.failure_window,
        }
    }
}

/// The counter key of an account: its user id when the login names a user (so `bob` and
/// `bob@example.com` share one counter), otherwise the normalised login.
pub fn account_key(user_id: Option<&UserId>, login_key: &str) -> String {
    match user_id {
        Some(id) => format!("acct:{id}"),
        None => format!("login:{login_key}"),
    }
}

/// The counter key of an account's second factor (TOTP and recovery codes, a passkey after a
/// password): a counter of its own, because a right password clears the account's counter
/// ([`Attempt::succeeded`]). Were wrong codes counted there, whoever holds the password could
/// sign in again after every `max - 1` wrong codes and guess codes without ever being locked;
/// this counter is cleared only by a right second factor.
pub fn factor_key(user_id: &UserId) -> String {
    format!("factor:{user_id}")
}

/// The counter key of a client address: per IPv4 address, per IPv6 /64
/// ([`crate::netaddr::subscriber`]), so rotating through a prefix buys nothing.
fn ip_key(ip: IpAddr) -> String {
    format!("ip:{}", crate::netaddr::subscriber(ip))
}

/// The key is locked, or its attempts are used up while earlier ones are evaluated: try again
/// in `retry_after` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after: u64,
}

/// A reserved attempt: report its outcome with [`Attempt::succeeded`] or [`Attempt::failed`].
#[must_use]
#[derive(Debug)]
pub struct Attempt {
    /// `(key, attempts counted with this one, max)`: the account first, then the address.
    reserved: Vec<(String, i32, u32)>,
}

impl Throttle {
    /// Reserves one attempt for `account` (a key from [`account_key`]) and the client address.
    /// `Err(Locked)` when either is locked or has its attempts used up.
    pub fn reserve<S: ThrottleStore>(
        &self,
        store: &S,
        now: UnixTime,
        account: &str,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Attempt, Locked>> {
        let window_start = now - self.window.as_secs() as i64;
        let mut keys = vec![(account.to_owned(), self.account_max)];
        keys.extend(ip.map(|ip| (ip_key(ip), self.ip_max)));
        let mut reserved = Vec::with_capacity(keys.len());
        for (key, max) in keys {
            match store.reserve_attempt(&key, now, window_start, max as i32)? {
                Reservation::Reserved(count) => reserved.push((key, count, max)),
                Reservation::Refused { locked_until } => {
                    // Give back what this attempt already took.
                    for (key, _, _) in &reserved {
                        store.release_attempt(key)?;
                    }
                    return Ok(Err(Locked {
                        retry_after: (locked_until - now).max(1) as u64,
                    }));
                }
            }
        }
        Ok(Ok(Attempt { reserved }))
    }

    /// `None` below the threshold; then lockout, 2×, 4×… capped at `lockout_max`.
    fn lock_duration(&self, failures: i32, max: u32) -> Option<u64> {
        let over = i64::from(failures) - i64::from(max);
        if over < 0 {
            return None;
        }
        let factor = 1u64 << over.min(20);
        Some(
            self.lockout
                .as_secs()
                .saturating_mul(factor)
                .min(self.lockout_max.as_secs()),
        )
    }
}

impl Attempt {
    /// A success clears the account's counter and gives the address its attempt back.
    pub fn succeeded<S: ThrottleStore>(self, store: &S) -> StoreResult<()> {
        for (i, (key, _, _)) in self.reserved.iter().enumerate() {
            if i == 0 {
                store.clear_throttle(key)?;
            } else {
                store.release_attempt(key)?;
            }
        }
        Ok(())
    }

    /// The attempt was not evaluated (the hashing queue was full): every reservation is
    /// given back.
    pub fn release<S: ThrottleStore>(self, store: &S) -> StoreResult<()> {
        for (key, _, _) in &self.reserved {
            store.release_attempt(key)?;
        }
        Ok(())
    }

    /// The attempt failed (it was counted when reserved): locks each key whose count reached
    /// its maximum. Returns the key that became locked, if any.
    pub fn failed<S: ThrottleStore>(
        self,
        store: &S,
        throttle: &Throttle,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        let mut locked = None;
        for (key, count, max) in self.reserved {
            if let Some(duration) = throttle.lock_duration(count, max) {
                store.lock_until(&key, now + duration as i64)?;
                locked = Some(key);
            }
        }
        Ok(locked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_and_caps() {
        let t = Throttle {
            account_max: 3,
            ip_max: 10,
            lockout: Duration::from_secs(60),
            lockout_max: Duration::from_secs(300),
            window: Duration::from_secs(900),
        };
        assert_eq!(t.lock_duration(2, 3), None);
        assert_eq!(t.lock_duration(3, 3), Some(60));
        assert_eq!(t.lock_duration(4, 3), Some(120));
        assert_eq!(t.lock_duration(5, 3), Some(240));
        assert_eq!(t.lock_duration(6, 3), Some(300));
        assert_eq!(t.lock_duration(60, 3), Some(300));
    }
}
