//! The sign-in throttle of `throttle.rs` against the in-memory store: at most `max` guesses per
//! account and per address in the window, then a lock that doubles.

use std::net::IpAddr;
use std::time::Duration;

use super::throttle::{Throttle, account_key};
use crate::clock::UnixTime;
use crate::config::LoginSettings;
use crate::testing::memory::MemoryStore;

const NOW: UnixTime = 1_700_000_000;

/// The defaults: 5 failures per account, 50 per address, a 1-minute first lock doubling up to
/// 15 minutes, failures forgotten after 15 minutes.
fn throttle() -> Throttle {
    Throttle::from(&LoginSettings::default())
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// One failed sign-in: `Ok(locked key)` when it was evaluated, `Err(retry_after)` when refused.
fn fail(
    t: &Throttle,
    store: &MemoryStore,
    at: UnixTime,
    account: &str,
    from: Option<IpAddr>,
) -> Result<Option<String>, u64> {
    let attempt = t.reserve(store, at, account, from).unwrap()?;
    Ok(attempt.failed(store, t, at).unwrap())
}

#[test]
fn the_sixth_attempt_in_the_window_is_refused() {
    let (t, store) = (throttle(), MemoryStore::new());
    let bob = account_key(Some("usr_bob"), "bob");
    for n in 1..=4 {
        assert_eq!(
            fail(&t, &store, NOW + n, &bob, None),
            Ok(None),
            "attempt {n}"
        );
    }
    assert_eq!(fail(&t, &store, NOW + 5, &bob, None), Ok(Some(bob.clone())));
    // Locked for the first lockout, counted from the fifth failure.
    assert_eq!(fail(&t, &store, NOW + 6, &bob, None), Err(59));
    // Another account is not affected.
    let carol = account_key(Some("usr_carol"), "carol");
    assert_eq!(fail(&t, &store, NOW + 6, &carol, None), Ok(None));
}

#[test]
fn a_failure_after_a_lock_locks_again_twice_as_long() {
    let (t, store) = (throttle(), MemoryStore::new());
    let bob = account_key(Some("usr_bob"), "bob");
    for _ in 0..5 {
        fail(&t, &store, NOW, &bob, None).unwrap();
    }
    let unlocked = NOW + 60;
    assert_eq!(
        fail(&t, &store, unlocked, &bob, None),
        Ok(Some(bob.clone()))
    );
    assert_eq!(fail(&t, &store, unlocked, &bob, None), Err(120));
}

#[test]
fn a_success_clears_the_accounts_failures() {
    let (t, store) = (throttle(), MemoryStore::new());
    let bob = account_key(Some("usr_bob"), "bob");
    for _ in 0..4 {
        fail(&t, &store, NOW, &bob, None).unwrap();
    }
    let attempt = t.reserve(&store, NOW, &bob, None).unwrap().unwrap();
    attempt.succeeded(&store).unwrap();
    // Four more failures lock nothing: the count started again.
    for _ in 0..4 {
        assert_eq!(fail(&t, &store, NOW, &bob, None), Ok(None));
    }
}

#[test]
fn failures_older_than_the_window_are_forgotten() {
    let (t, store) = (throttle(), MemoryStore::new());
    let bob = account_key(Some("usr_bob"), "bob");
    for _ in 0..4 {
        fail(&t, &store, NOW, &bob, None).unwrap();
    }
    let later = NOW + t.window.as_secs() as i64 + 1;
    for _ in 0..4 {
        assert_eq!(fail(&t, &store, later, &bob, None), Ok(None));
    }
}

#[test]
fn a_locked_address_refuses_without_counting_against_the_account() {
    let t = Throttle::from(&LoginSettings {
        ip_max_failures: 2,
        ..LoginSettings::default()
    });
    let store = MemoryStore::new();
    let from = ip("203.0.113.9");
    fail(&t, &store, NOW, &account_key(None, "x"), from).unwrap();
    let locked = fail(&t, &store, NOW, &account_key(None, "y"), from).unwrap();
    assert_eq!(locked.as_deref(), Some("ip:203.0.113.9"));
    let carol = account_key(Some("usr_carol"), "carol");
    assert_eq!(fail(&t, &store, NOW, &carol, from), Err(60));
    // The account's reservation was given back when the address refused.
    assert_eq!(store.throttle_counter(&carol), Some((0, 0)));
}

#[test]
fn addresses_of_one_ipv6_64_share_a_counter() {
    let t = Throttle::from(&LoginSettings {
        ip_max_failures: 2,
        ..LoginSettings::default()
    });
    let store = MemoryStore::new();
    fail(&t, &store, NOW, &account_key(None, "x"), ip("2001:db8::1")).unwrap();
    fail(&t, &store, NOW, &account_key(None, "y"), ip("2001:db8::2")).unwrap();
    let z = account_key(None, "z");
    assert_eq!(fail(&t, &store, NOW, &z, ip("2001:db8::ffff")), Err(60));
    assert_eq!(fail(&t, &store, NOW, &z, ip("2001:db8:0:1::1")), Ok(None));
}

#[test]
fn an_attempt_never_evaluated_is_given_back() {
    let (t, store) = (throttle(), MemoryStore::new());
    let bob = account_key(Some("usr_bob"), "bob");
    let attempt = t
        .reserve(&store, NOW, &bob, ip("203.0.113.9"))
        .unwrap()
        .unwrap();
    attempt.release(&store).unwrap();
    assert_eq!(store.throttle_counter(&bob), Some((0, 0)));
    assert_eq!(store.throttle_counter("ip:203.0.113.9"), Some((0, 0)));
}

#[test]
fn the_lock_is_capped() {
    let t = Throttle::from(&LoginSettings {
        lockout_max: Duration::from_secs(100),
        ..LoginSettings::default()
    });
    let store = MemoryStore::new();
    let bob = account_key(Some("usr_bob"), "bob");
    for _ in 0..5 {
        fail(&t, &store, NOW, &bob, None).unwrap();
    }
    // 60 s, then 120 s capped at 100 s.
    fail(&t, &store, NOW + 60, &bob, None).unwrap();
    assert_eq!(fail(&t, &store, NOW + 60, &bob, None), Err(100));
}
