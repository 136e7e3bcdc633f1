//! The state every handler shares.

use std::sync::Arc;

use crate::accounts::password::PasswordHasher;
use crate::accounts::throttle::Throttle;
use crate::apikeys::service::{KeyFormat, UsageLog};
use crate::clock::Clock;
use crate::config::Settings;
use crate::ops::metrics::Metrics;
use crate::secrets::SecretBox;
use crate::sessions::service::SessionPolicy;
use crate::signing::Keys;
use crate::store::Store;

/// Everything a handler needs; shared by all workers.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    pub secrets: SecretBox,
    pub throttle: Throttle,
    pub session_policy: SessionPolicy,
    pub metrics: Metrics,
    pub csrf_key: [u8; 32],
    pub keys: Keys,
    pub key_format: KeyFormat,
    pub key_usage: UsageLog,
    /// The discovery document, serialised once.
    pub discovery: Arc<str>,
    /// The `/v1` OpenAPI document, serialised once.
    pub openapi: Arc<str>,
    /// The WebAuthn relying party (the issuer); `None` when the issuer's host is not a domain
    /// name, and then there are no passkeys.
    pub relying_party: Option<crate::mfa::passkeys::RelyingParty>,
    /// The relying party towards organisations' upstream OpenID Providers (its metadata cache).
    pub upstream: Arc<crate::federation::oidc_rp::UpstreamRp>,
    /// The outbox (issue #14); its delivery task runs beside the background jobs.
    pub mailer: Arc<crate::mail::Mailer>,
}
