//! An SP-initiated SAML sign-in within the stored sign-in flow (`crate::flows`), as
//! `oidc_signin` does for OpenID Connect: the AuthnRequest's id and the RelayState value are
//! sealed into the flow's `ceremony` (bound to the flow's row), and the ACS takes them back
//! once, by conditional update, for the browser holding the flow's cookie. A Response is
//! accepted only as the answer to that request (`InResponseTo`), so a Response made for
//! another browser's flow is refused in this one (no login CSRF).

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::credentials::PlainFlowId;
use crate::flows::service as flows;
use crate::flows::store::FlowStore;
use crate::flows::types::{Flow, Resume};
use crate::ids::{ConnectionId, OrgId};
use crate::secrets::SecretBox;
use crate::store::StoreResult;

/// What the ACS checks the Response against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlCeremony {
    pub connection: ConnectionId,
    /// The AuthnRequest's `ID`: the Response's `InResponseTo`.
    pub request_id: String,
    /// The `RelayState` sent with it, which the IdP sends back.
    pub relay_state: String,
}

/// The secret box's binding of a flow's SAML ceremony (another kind of ceremony, sealed under
/// another binding, never opens as this one).
fn binding(flow: &Flow) -> String {
    format!("saml-ceremony:{}", flow.id_hash.as_str())
}

/// Keeps `ceremony` in the browser's live flow (`current`), or in a flow begun for `resume`
/// in the connection's organisation; returns the cookie value of the flow used.
#[allow(clippy::too_many_arguments)]
pub fn keep_ceremony<S: FlowStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    current: Option<PlainFlowId>,
    resume: Resume,
    ceremony: &SamlCeremony,
    client_addr: Option<String>,
    org: &OrgId,
) -> StoreResult<PlainFlowId> {
    let json = serde_json::to_vec(ceremony).unwrap_or_default();
    flows::keep_ceremony(store, clock, current, resume, client_addr, org, |flow| {
        secrets.seal(&binding(flow), &json)
    })
}

/// Why the browser's pending SAML sign-in does not take this Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRelay {
    #[error("The sign-in's RelayState does not match. Start again.")]
    Mismatch,
    #[error("This sign-in was already completed. Start again.")]
    Taken,
}

/// The browser's pending SAML sign-in for `connection`, taken (single use) when `relay_state`
/// matches; `Ok(None)` when the browser has none (no flow, expired, or a ceremony of another
/// kind or connection, which is left alone): the Response can then only be IdP-initiated.
pub fn take_ceremony<S: FlowStore>(
    store: &S,
    secrets: &SecretBox,
    clock: &dyn Clock,
    current: Option<&PlainFlowId>,
    connection: &ConnectionId,
    relay_state: Option<&str>,
) -> StoreResult<Result<Option<(Flow, SamlCeremony)>, BadRelay>> {
    let Some(secret) = current else {
        return Ok(Ok(None));
    };
    let Some(mut flow) = store.find_flow(&secret.hash())? else {
        return Ok(Ok(None));
    };
    let Some(sealed) = flow.ceremony.clone() else {
        return Ok(Ok(None));
    };
    if clock.now() >= flow.expires_at {
        return Ok(Ok(None));
    }
    let Some(ceremony) = secrets
        .open(&binding(&flow), &sealed)
        .ok()
        .and_then(|b| serde_json::from_slice::<SamlCeremony>(&b).ok())
        .filter(|c| c.connection == *connection)
    else {
        return Ok(Ok(None));
    };
    let given = relay_state.unwrap_or_default();
    if !bool::from(ceremony.relay_state.as_bytes().ct_eq(given.as_bytes())) {
        return Ok(Err(BadRelay::Mismatch));
    }
    if !store.clear_ceremony(&flow.id_hash, &sealed)? {
        return Ok(Err(BadRelay::Taken));
    }
    flow.ceremony = None;
    Ok(Ok(Some((flow, ceremony))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::memory::MemoryStore;

    fn ceremony() -> SamlCeremony {
        SamlCeremony {
            connection: ConnectionId::new("conn_a"),
            request_id: "_req".into(),
            relay_state: "relay".into(),
        }
    }

    #[test]
    fn a_ceremony_is_taken_once_with_its_relay_state() {
        let (store, secrets, clock) = (
            MemoryStore::new(),
            SecretBox::from_key([7; 32]),
            ManualClock::new(1_700_000_000),
        );
        let flow = keep_ceremony(
            &store,
            &secrets,
            &clock,
            None,
            Resume::Page("/account".into()),
            &ceremony(),
            None,
            &OrgId::new("org_a"),
        )
        .unwrap();
        let conn = ConnectionId::new("conn_a");
        let take = |secret: Option<&PlainFlowId>, conn: &ConnectionId, relay: Option<&str>| {
            take_ceremony(&store, &secrets, &clock, secret, conn, relay).unwrap()
        };
        assert_eq!(take(None, &conn, Some("relay")), Ok(None));
        assert_eq!(
            take(Some(&flow), &ConnectionId::new("conn_b"), Some("relay")),
            Ok(None),
            "another connection's ACS sees no pending sign-in"
        );
        assert_eq!(
            take(Some(&flow), &conn, Some("other")),
            Err(BadRelay::Mismatch)
        );
        let (taken, c) = take(Some(&flow), &conn, Some("relay")).unwrap().unwrap();
        assert_eq!(c, ceremony());
        assert!(taken.ceremony.is_none());
        assert_eq!(take(Some(&flow), &conn, Some("relay")), Ok(None), "once");
    }
}
