//! An upstream sign-in within the stored sign-in flow (`crate::flows`): the ceremony of the
//! authorization request is sealed into the flow's `ceremony` (bound to the flow's row), and the
//! callback takes it back once, by conditional update (as the passkey challenge), so a `state`
//! is good for one callback of the browser holding the flow's cookie.

use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::credentials::PlainFlowId;
use crate::federation::oidc_rp::Ceremony;
use crate::flows::service as flows;
use crate::flows::store::FlowStore;
use crate::flows::types::{Flow, Resume};
use crate::ids::{ConnectionId, OrgId};
use crate::secrets::SecretBox;
use crate::store::StoreResult;

/// The secret box's binding of a flow's ceremony.
fn binding(flow: &Flow) -> String {
    format!("oidc-ceremony:{}", flow.id_hash.as_str())
}

/// Keeps `ceremony` in the browser's live flow (`current`, an authorization request's or any
/// other), or in a flow begun for `resume`; returns the cookie value of the flow used.
#[allow(clippy::too_many_arguments)]
pub fn keep_ceremony<S: FlowStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    current: Option<PlainFlowId>,
    resume: Resume,
    ceremony: &Ceremony,
    client_addr: Option<String>,
    org: &OrgId,
) -> StoreResult<PlainFlowId> {
    let json = serde_json::to_vec(ceremony).unwrap_or_default();
    flows::keep_ceremony(store, clock, current, resume, client_addr, org, |flow| {
        secrets.seal(&binding(flow), &json)
    })
}

/// Why a callback's `state` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadState {
    #[error("This sign-in has expired or was already completed. Start again.")]
    NoFlow,
    #[error("The sign-in's state does not match. Start again.")]
    Mismatch,
}

/// The flow and its ceremony for a callback of `connection` with `state`, taken (single use).
pub fn take_ceremony<S: FlowStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    current: Option<&PlainFlowId>,
    connection: &ConnectionId,
    state: &str,
) -> StoreResult<Result<(Flow, Ceremony), BadState>> {
    let Some(secret) = current else {
        return Ok(Err(BadState::NoFlow));
    };
    let Some(mut flow) = store.find_flow(&secret.hash())? else {
        return Ok(Err(BadState::NoFlow));
    };
    let Some(sealed) = flow.ceremony.clone() else {
        return Ok(Err(BadState::NoFlow));
    };
    if clock.now() >= flow.expires_at {
        return Ok(Err(BadState::NoFlow));
    }
    let Some(ceremony) = secrets
        .open(&binding(&flow), &sealed)
        .ok()
        .and_then(|b| serde_json::from_slice::<Ceremony>(&b).ok())
    else {
        return Ok(Err(BadState::Mismatch));
    };
    let matches = ceremony.connection == *connection
        && bool::from(ceremony.state.as_bytes().ct_eq(state.as_bytes()));
    if !matches {
        return Ok(Err(BadState::Mismatch));
    }
    if !store.clear_ceremony(&flow.id_hash, &sealed)? {
        return Ok(Err(BadState::NoFlow));
    }
    flow.ceremony = None;
    Ok(Ok((flow, ceremony)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::memory::MemoryStore;

    fn ceremony(connection: &str) -> Ceremony {
        Ceremony {
            connection: ConnectionId::new(connection),
            state: "the-state".into(),
            nonce: "n".into(),
            verifier: "v".into(),
        }
    }

    fn kept(store: &MemoryStore, secrets: &SecretBox, clock: &ManualClock) -> PlainFlowId {
        keep_ceremony(
            store,
            secrets,
            clock,
            None,
            Resume::Page("/account".into()),
            &ceremony("conn_a"),
            None,
            &OrgId::new("org_a"),
        )
        .unwrap()
    }

    #[test]
    fn a_state_is_taken_once_by_the_browser_holding_the_flow() {
        let (store, secrets, clock) = (
            MemoryStore::new(),
            SecretBox::from_key([7; 32]),
            ManualClock::new(1_700_000_000),
        );
        let flow = kept(&store, &secrets, &clock);
        let conn = ConnectionId::new("conn_a");
        let take = |secret: Option<&PlainFlowId>, conn: &ConnectionId, state: &str| {
            take_ceremony(&store, &secrets, &clock, secret, conn, state).unwrap()
        };
        assert_eq!(take(None, &conn, "the-state").err(), Some(BadState::NoFlow));
        assert_eq!(
            take(Some(&flow), &conn, "the-statf").err(),
            Some(BadState::Mismatch)
        );
        assert_eq!(
            take(Some(&flow), &ConnectionId::new("conn_b"), "the-state").err(),
            Some(BadState::Mismatch),
            "another connection's callback"
        );
        let (taken, c) = take(Some(&flow), &conn, "the-state").unwrap();
        assert_eq!(c, ceremony("conn_a"));
        assert!(taken.ceremony.is_none());
        assert_eq!(
            take(Some(&flow), &conn, "the-state").err(),
            Some(BadState::NoFlow),
            "single use"
        );
    }

    #[test]
    fn an_expired_flow_takes_no_state() {
        let (store, secrets, clock) = (
            MemoryStore::new(),
            SecretBox::from_key([7; 32]),
            ManualClock::new(1_700_000_000),
        );
        let flow = kept(&store, &secrets, &clock);
        clock.advance(crate::flows::service::FLOW_TTL);
        let got = take_ceremony(
            &store,
            &secrets,
            &clock,
            Some(&flow),
            &ConnectionId::new("conn_a"),
            "the-state",
        )
        .unwrap();
        assert_eq!(got.err(), Some(BadState::NoFlow));
    }
}
