//! Background jobs: pruning expired rows and reloading signing keys, off the request path.

use actix_web::web;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::accounts::store::ThrottleStore;
use crate::apikeys::store::ApiKeyStore;
use crate::federation::store::SamlReplayStore;
use crate::flows::service as flows;
use crate::oauth::store::{DeviceCodeStore, GrantStore};
use crate::saml;
use crate::sessions::service as sessions;
use crate::signing::store::SigningKeyStore;
use crate::signing::{self, KeySet};
use crate::web::state::AppState;

pub const PRUNE_EVERY: Duration = Duration::from_secs(300);
pub const USAGE_FLUSH_EVERY: Duration = Duration::from_secs(30);
pub const KEY_REFRESH_EVERY: Duration = Duration::from_secs(signing::REFRESH_INTERVAL as u64);

/// Why reloading the signing keys failed (the keys in use stay).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] signing::KeyError),
}

/// Reloads signing keys from the database (new keys published by a rotation on any instance).
pub fn reload_keys(st: &AppState) -> Result<(), ReloadError> {
    let stored = st.store.list_signing_keys()?;
    let set = KeySet::load(&stored, &st.secrets, st.clock.now())?;
    st.keys.replace(set);
    Ok(())
}

/// Writes the last-use times gathered since the previous flush (one transaction).
pub fn flush_key_usage(st: &AppState) -> Result<(), crate::store::StoreError> {
    let usage = st.key_usage.drain();
    if usage.is_empty() {
        Ok(())
    } else {
        st.store.record_api_key_usage(&usage)
    }
}

/// Deletes what has expired: sessions, pending sign-ins, authorization codes, tokens, grants,
/// device codes and forgotten throttle counters; returns how many rows went.
pub fn prune_expired(st: &AppState) -> Result<usize, crate::store::StoreError> {
    let now = st.clock.now();
    let throttle_window_start = now - st.throttle.window.as_secs() as i64;
    Ok(
        sessions::prune(&st.store, st.clock.as_ref(), st.session_policy)?
            + flows::prune(&st.store, st.clock.as_ref())?
            + st.store.prune_grants(now)?
            + st.store.prune_device_codes(now)?
            + st.store.prune_throttle(now, throttle_window_start)?
            + saml::inbox::prune(&st.store, st.clock.as_ref())?
            + st.store.prune_assertions(now)?,
    )
}

pub fn spawn(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        // First ticks one period after start: start-up already loaded everything fresh.
        let every = |period| tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut prune = every(PRUNE_EVERY);
        let mut refresh = every(KEY_REFRESH_EVERY);
        let mut usage = every(USAGE_FLUSH_EVERY);
        loop {
            tokio::select! {
                _ = prune.tick() => {
                    let st = state.clone();
                    let result = tokio::task::spawn_blocking(move || prune_expired(&st)).await;
                    match result {
                        Ok(Ok(n)) if n > 0 => tracing::debug!(rows = n, "pruned expired rows"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "pruning failed"),
                        _ => {}
                    }
                }
                _ = usage.tick() => {
                    let st = state.clone();
                    let result = tokio::task::spawn_blocking(move || flush_key_usage(&st)).await;
                    if let Ok(Err(e)) = result {
                        tracing::warn!(error = %e, "recording API key usage failed");
                    }
                }
                _ = refresh.tick() => {
                    let st = state.clone();
                    let result = tokio::task::spawn_blocking(move || reload_keys(&st)).await;
                    if let Ok(Err(e)) = result {
                        tracing::warn!(error = %e, "reloading signing keys failed");
                    }
                }
            }
        }
    })
}
