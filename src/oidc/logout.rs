//! RP-Initiated Logout 1.0: who asks, where to send the user afterwards, and whether the user
//! must confirm first (§2: without a valid `id_token_hint` the OP asks).

use serde::Deserialize;

use crate::ids::{ClientId, Sid, UserId};
use crate::oauth::store::OAuthStore;
use crate::oauth::types::Client;
use crate::signing::KeySet;
use crate::store::StoreResult;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// Our confirmation form's fields.
    pub csrf: Option<String>,
    pub confirm: Option<String>,
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: Audience,
    sid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// The one audience our ID tokens have (OIDC Core §2: the client); `None` for several.
    fn single(&self) -> Option<&str> {
        match self {
            Audience::One(a) => Some(a),
            Audience::Many(v) if v.len() == 1 => v.first().map(String::as_str),
            Audience::Many(_) => None,
        }
    }
}

/// The `typ` header of the ID tokens we sign; JWT access tokens carry `at+jwt` (RFC 9068 §2.1).
const ID_TOKEN_TYP: &str = "JWT";

/// An `id_token_hint` is accepted only if it is one of our ID tokens (expired ones too, §2):
/// our signature and issuer, `typ` `JWT` (so never an `at+jwt` access token, whose `aud` may
/// look like a client id), and a single `aud` naming a registered client. Anything else is
/// treated as no hint: the user confirms before anything ends.
fn id_token_hint<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    token: &str,
) -> StoreResult<Option<(HintClaims, ClientId)>> {
    let Ok(claims) = keys.verify::<HintClaims>(token, issuer, Some(ID_TOKEN_TYP), true) else {
        return Ok(None);
    };
    let Some(aud) = claims.aud.single().map(ClientId::new) else {
        return Ok(None);
    };
    if store.find_client(&aud)?.is_none() {
        return Ok(None);
    }
    Ok(Some((claims, aud)))
}

/// Why an end-session request is refused (shown on the error page; never redirected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoutRefused {
    #[error("client_id does not match the id_token_hint")]
    ClientMismatch,
    #[error("unknown client_id")]
    UnknownClient,
    #[error("post_logout_redirect_uri is not registered for this client")]
    UnregisteredRedirect,
}

pub struct LogoutPlan {
    pub client: Option<Client>,
    /// Where to go afterwards (registered for the client), with `state` appended.
    pub redirect: Option<String>,
    /// The hint was valid and names the signed-in user (or nobody is signed in).
    pub confirmed: bool,
}

/// Validates the request. The inner `Err` is for the error page: a redirect URI that is not
/// registered is never followed.
pub fn plan<S: OAuthStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    params: &LogoutParams,
    signed_in: Option<(&UserId, &Sid)>,
) -> StoreResult<Result<LogoutPlan, LogoutRefused>> {
    let (hint, hint_client) = match params.id_token_hint.as_deref() {
        Some(t) => match id_token_hint(store, keys, issuer, t)? {
            Some((claims, client_id)) => (Some(claims), Some(client_id)),
            None => (None, None),
        },
        None => (None, None),
    };
    let client_id = match (&params.client_id, &hint_client) {
        (Some(a), Some(b)) if a != b.as_str() => {
            return Ok(Err(LogoutRefused::ClientMismatch));
        }
        (Some(a), _) => Some(ClientId::new(a.as_str())),
        (None, b) => b.clone(),
    };
    let client = match &client_id {
        Some(id) if crate::oauth::clients::plausible_client_id(id.as_str()) => {
            store.find_client(id)?
        }
        _ => None,
    };
    if client_id.is_some() && client.is_none() {
        return Ok(Err(LogoutRefused::UnknownClient));
    }
    let redirect = match (&params.post_logout_redirect_uri, &client) {
        (None, _) => None,
        // An organisation's admin registers its URIs: without an ID token of that client
        // (`id_token_hint`), following one would make this server an open redirector at any
        // organisation admin's bidding (RFC 9700 §4.11). The signed-out page is shown instead.
        (Some(_), Some(c)) if c.org_id.is_some() && hint.is_none() => None,
        (Some(uri), Some(c)) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            let mut url = url::Url::parse(uri)
                .map_err(|_| crate::store::StoreError::Backend("stored URI".into()))?;
            if let Some(state) = &params.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
        (Some(_), _) => {
            return Ok(Err(LogoutRefused::UnregisteredRedirect));
        }
    };
    let confirmed = match (&hint, signed_in) {
        (Some(_), None) => true,
        (Some(h), Some((user_id, sid))) => {
            h.sub == user_id.as_str() || h.sid.as_deref() == Some(sid.as_str())
        }
        (None, _) => false,
    };
    Ok(Ok(LogoutPlan {
        client,
        redirect,
        confirmed,
    }))
}
