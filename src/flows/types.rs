use serde::{Deserialize, Serialize};

use crate::authn::{self, Method};
use crate::clock::UnixTime;
use crate::credentials::HashedFlowId;
use crate::ids::UserId;

/// A method done in this flow, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDone {
    pub method: Method,
    pub at: UnixTime,
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
}

impl Resume {
    pub fn kind(&self) -> &'static str {
        match self {
            Resume::Authorize(_) => "authorize",
            Resume::Page(_) => "page",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Resume::Authorize(v) | Resume::Page(v) => v,
        }
    }

    /// From the stored kind and value; an unknown kind is no resumable flow.
    pub fn from_stored(kind: &str, value: String) -> Option<Self> {
        match kind {
            "authorize" => Some(Resume::Authorize(value)),
            "page" => Some(Resume::Page(value)),
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
}

impl Flow {
    pub fn has(&self, method: Method) -> bool {
        self.methods.iter().any(|m| m.method == method)
    }

    /// The `amr` of the methods done ([`authn::amr_of`]).
    pub fn amr(&self) -> Vec<String> {
        let methods: Vec<Method> = self.methods.iter().map(|m| m.method).collect();
        authn::amr_of(&methods)
    }

    /// When the last method was done: the session's new `auth_time`.
    pub fn last_done_at(&self) -> Option<UnixTime> {
        self.methods.iter().map(|m| m.at).max()
    }
}
