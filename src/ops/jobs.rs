//! Background jobs: pruning expired rows without blocking requests.

use actix_web::web;
use tokio::task::JoinHandle;

use crate::sessions::service as sessions;
use crate::startup::{AppState, PRUNE_EVERY};

pub fn spawn(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            let st = state.clone();
            let result = tokio::task::spawn_blocking(move || {
                sessions::prune(&st.store, st.clock.as_ref(), st.session_policy)
            })
            .await;
            match result {
                Ok(Ok(n)) if n > 0 => tracing::debug!(sessions = n, "pruned expired sessions"),
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning sessions failed"),
                _ => {}
            }
        }
    })
}
