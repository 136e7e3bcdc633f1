use serde::{Deserialize, Serialize};

use crate::authn::{self, Method};
use crate::clock::UnixTime;
use crate::credentials::HashedFlowId;
use crate::ids::{OrgId, UserId};

/// A method done in this flow, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDone {
    pub method: Method,
    pub at: UnixTime,
    /// Carried over from the session a step-up flow began for, not done in the flow: it counts
    /// only where the request accepts an earlier sign-in ([`Flow::counted`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub carried: bool,
}

/// What the sign-in must achieve, as the request that started it asked (OIDC Core
/// §3.1.2.1): a fresh sign-in (`prompt=login`), one not older than `max_age`, an `acr`
/// ([`authn::ACR_VALUES`]). Whatever is done in the flow is fresh for the request it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    pub max_age: Option<i64>,
    pub force_login: bool,
    pub acr: Option<String>,
}

/// What to go back to once signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// An authorization request, stored whole as JSON text (no URL length limit, and never
    /// replayable from a URL): the authorization endpoint resumes it.
    Authorize(String),
    /// A same-origin page path (the device page, settings pages), validated by the sign-in
    /// page as `return_to` always was.
    Page(String),
    /// A SAML AuthnRequest that mintgate as identity provider answers once signed in
    /// (`crate::saml_idp`), stored whole as JSON text: its resume page takes the flow, as the
    /// authorization endpoint does, which is what shows the sign-in was made for it.
    Saml(String),
}

impl Resume {
    pub fn kind(&self) -> &'static str {
        match self {
            Resume::Authorize(_) => "authorize",
            Resume::Page(_) => "page",
            Resume::Saml(_) => "saml",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Resume::Authorize(v) | Resume::Page(v) | Resume::Saml(v) => v,
        }
    }

    /// From the stored kind and value; an unknown kind is no resumable flow.
    pub fn from_stored(kind: &str, value: String) -> Option<Self> {
        match kind {
            "authorize" => Some(Resume::Authorize(value)),
            "page" => Some(Resume::Page(value)),
            "saml" => Some(Resume::Saml(value)),
            _ => None,
        }
    }
}

/// A pending sign-in. The cookie holds the random id; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub id_hash: HashedFlowId,
    /// Set once a method identified the user.
    pub user_id: Option<UserId>,
    pub methods: Vec<MethodDone>,
    pub requirement: Requirement,
    pub resume: Resume,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Failed attempts in this flow (the login throttle counts per account and address too).
    pub attempts: i32,
    /// Sealed ceremony state of a factor in progress (a WebAuthn challenge).
    pub ceremony: Option<String>,
    /// Where the flow was begun (an IPv4 address or IPv6 /64): each keeps a bounded number.
    pub client_addr: Option<String>,
    /// The organisation the sign-in is for (the `organization` authorize parameter, or the SSO
    /// connection's): the new session acts in it when the user is a member.
    pub org_id: Option<OrgId>,
}

impl Flow {
    pub fn has(&self, method: Method) -> bool {
        self.methods.iter().any(|m| m.method == method)
    }

    /// The methods that count for the request the flow holds at `now`: every method done in the
    /// flow (fresh for its request, so `prompt=login` and `max_age`, even 0, are met by them),
    /// and a method carried from the session only without `prompt=login` and within `max_age`.
    pub fn counted(&self, now: UnixTime) -> Vec<&MethodDone> {
        let req = &self.requirement;
        self.methods
            .iter()
            .filter(|m| {
                !m.carried
                    || (!req.force_login
                        && req.max_age.is_none_or(|max| max > 0 && now - m.at <= max))
            })
            .collect()
    }

    /// The `amr` of the methods that count at `now` ([`authn::amr_of`]).
    pub fn amr(&self, now: UnixTime) -> Vec<String> {
        let methods: Vec<Method> = self.counted(now).iter().map(|m| m.method).collect();
        authn::amr_of(&methods)
    }

    /// When the last method that counts at `now` was done: the session's new `auth_time`.
    pub fn last_done_at(&self, now: UnixTime) -> Option<UnixTime> {
        self.counted(now).iter().map(|m| m.at).max()
    }
}
