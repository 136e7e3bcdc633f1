//! Brute-force protection for sign-in: failure counters per account and per client IP, shared
//! by all instances through the store. After `max` failures within the window the key is locked
//! for `lockout`, doubling with each further failure up to `lockout_max`.

use std::net::IpAddr;
use std::time::Duration;

use crate::clock::UnixTime;
use crate::store::{StoreResult, ThrottleStore};

#[derive(Debug, Clone)]
pub struct Throttle {
    pub account_max: u32,
    pub ip_max: u32,
    pub lockout: Duration,
    pub lockout_max: Duration,
    pub window: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allowed,
    Locked { retry_after: u64 },
}

fn account_key(login_key: &str) -> String {
    format!("acct:{login_key}")
}

fn ip_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

impl Throttle {
    pub fn check<S: ThrottleStore>(
        &self,
        store: &S,
        now: UnixTime,
        login_key: &str,
        ip: Option<IpAddr>,
    ) -> StoreResult<ThrottleDecision> {
        let mut keys = vec![account_key(login_key)];
        keys.extend(ip.map(ip_key));
        let mut wait = 0;
        for key in keys {
            if let Some((_, locked_until)) = store.throttle_state(&key)? {
                wait = wait.max(locked_until - now);
            }
        }
        Ok(if wait > 0 {
            ThrottleDecision::Locked {
                retry_after: wait as u64,
            }
        } else {
            ThrottleDecision::Allowed
        })
    }

    /// Counts a failure for the account and the IP; returns the key that became locked, if any.
    pub fn failed<S: ThrottleStore>(
        &self,
        store: &S,
        now: UnixTime,
        login_key: &str,
        ip: Option<IpAddr>,
    ) -> StoreResult<Option<String>> {
        let window_start = now - self.window.as_secs() as i64;
        let mut locked = None;
        let mut keys = vec![(account_key(login_key), self.account_max)];
        keys.extend(ip.map(|ip| (ip_key(ip), self.ip_max)));
        for (key, max) in keys {
            let failures = store.register_failure(&key, now, window_start)?;
            if let Some(duration) = self.lock_duration(failures, max) {
                store.lock_until(&key, now + duration as i64)?;
                locked = Some(key);
            }
        }
        Ok(locked)
    }

    /// A successful sign-in clears the account's counter (not the IP's).
    pub fn succeeded<S: ThrottleStore>(&self, store: &S, login_key: &str) -> StoreResult<()> {
        store.clear_throttle(&account_key(login_key))
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
