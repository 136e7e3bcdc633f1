//! The single sign-on service, free of HTTP: an AuthnRequest leads to a sign-in (kept whole in
//! a sign-in flow, `Resume::Saml`), a step-up (the organisation's MFA requirement), a refusal
//! (an error page: never a POST to an ACS the app did not register), or the signed Response
//! posted to the app's ACS. Blocking (store): call from `web::block`.

use serde::{Deserialize, Serialize};

use super::error::SamlIdpError;
use super::metadata;
use super::request::{self, Incoming, Parsed};
use super::response::{self, Assertion, SigningKey};
use super::store::SamlAppStore;
use super::types::{NameIdFormat, SamlApp};
use crate::accounts::service::admitted_memberships;
use crate::accounts::store::UserStore;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::Clock;
use crate::credentials::PlainFlowId;
use crate::crypto;
use crate::flows::service::{self as flows, FlowPolicy, Pending, Step};
use crate::flows::store::FlowStore;
use crate::flows::types::{Requirement, Resume};
use crate::ids::{OrgId, UserId};
use crate::mfa::store::FactorStore;
use crate::saml::bindings;
use crate::sessions::types::CurrentSession;
use crate::signing::KeySet;

/// Everything the service needs beyond the store.
pub trait IdpStore: SamlAppStore + UserStore + FactorStore + FlowStore + AuditStore {}
impl<T: SamlAppStore + UserStore + FactorStore + FlowStore + AuditStore> IdpStore for T {}

/// The server's side of an answer.
pub struct Ctx<'a> {
    /// Our issuer (the entity ID is derived from it).
    pub issuer: &'a str,
    pub keys: &'a KeySet,
    /// The key of the pairwise persistent NameIDs.
    pub nameid_key: &'a [u8; 32],
    pub meta: &'a RequestMeta,
    /// The address unit a new sign-in flow is counted under.
    pub client_addr: Option<String>,
}

/// An AuthnRequest, accepted and kept in a sign-in flow until the user has signed in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    pub entity_id: String,
    pub request_id: String,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
}

/// The auto-submitted form that carries the Response to the ACS.
#[derive(Debug, Clone)]
pub struct PostForm {
    pub acs_url: String,
    pub saml_response: String,
    pub relay_state: Option<String>,
}

#[derive(Debug)]
pub enum Next {
    /// To the sign-in page (forced when `reauth`) within the flow `flow` (cookie value).
    SignIn { flow: PlainFlowId, reauth: bool },
    /// A step-up of the session within `flow`: `step` says what it asks first.
    StepUp { flow: PlainFlowId, step: Step },
    /// The Response, to post to the app.
    Post(PostForm),
}

#[derive(Debug)]
pub enum Resumed {
    Next(Next),
    /// The flow still waits for the sign-in.
    NotYet,
    /// No flow to resume (none, expired, taken, another user's, or not a SAML one).
    Gone,
}

fn refuse<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    subject: &str,
    user: Option<&UserId>,
    why: &str,
) -> SamlIdpError {
    let mut event = AuditEvent::new(clock.now(), AuditKind::SamlRefused, ctx.meta)
        .subject(&subject.chars().take(256).collect::<String>())
        .detail(why);
    if let Some(user) = user {
        event = event.user(user);
    }
    if let Err(e) = store.record_event(&event) {
        return e.into();
    }
    SamlIdpError::Refused(why.to_owned())
}

/// How old an AuthnRequest may be when it arrives (the browser brings it at once; a sign-in
/// in between happens after it arrived, within the flow).
pub const REQUEST_MAX_AGE: i64 = 600;
/// The clock difference tolerated between an SP and us.
pub const CLOCK_SKEW: i64 = 90;

/// An AuthnRequest as it arrived, from `current` (the browser's session, if any).
pub fn begin<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    incoming: &Incoming,
    current: Option<&CurrentSession>,
) -> Result<Next, SamlIdpError> {
    let parsed = match request::parse(incoming) {
        Ok(p) => p,
        Err(e) => return Err(refuse(store, clock, ctx, "", None, &e.to_string())),
    };
    let app = accept(store, clock, ctx, &parsed)?;
    let Some(acs_url) = app.acs_for(parsed.acs_url.as_deref()).map(str::to_owned) else {
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            "the request's AssertionConsumerServiceURL is not one this application registered",
        ));
    };
    let kept = Kept {
        entity_id: app.entity_id.clone(),
        request_id: parsed.id,
        acs_url,
        relay_state: parsed.relay_state,
        force_authn: parsed.force_authn,
    };
    if parsed.is_passive && (current.is_none() || kept.force_authn) {
        // SAML Core §3.4.1: IsPassive forbids asking the user anything; a NoPassive status
        // Response is not implemented, so the request is refused here.
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            "a passive request cannot be answered without a sign-in",
        ));
    }
    decide(store, clock, ctx, &app, kept, current, false)
}

/// The app the request's Issuer names, with the request's binding and signature checked.
fn accept<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    parsed: &Parsed,
) -> Result<SamlApp, SamlIdpError> {
    let Some(app) = store.find_saml_app_by_entity_id(&parsed.issuer)? else {
        return Err(refuse(
            store,
            clock,
            ctx,
            &parsed.issuer,
            None,
            "no SAML application is registered with this entity ID",
        ));
    };
    let sso = format!("{}{}", ctx.issuer, crate::web::paths::SAML_SSO);
    if parsed.destination.as_deref().is_some_and(|d| d != sso) {
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            "the request's Destination is not this identity provider",
        ));
    }
    if parsed
        .protocol_binding
        .as_deref()
        .is_some_and(|b| b != metadata::HTTP_POST)
    {
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            "only the HTTP-POST binding is supported for the response",
        ));
    }
    if let Err(e) = request::verify(parsed, &app) {
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            &e.to_string(),
        ));
    }
    // A request is answered soon after the SP made it: a captured one does not stay usable.
    let now = clock.now();
    if parsed.issue_instant < now - REQUEST_MAX_AGE || parsed.issue_instant > now + CLOCK_SKEW {
        return Err(refuse(
            store,
            clock,
            ctx,
            &app.entity_id,
            None,
            "the request's IssueInstant is too old or in the future",
        ));
    }
    Ok(app)
}

fn kept_resume(kept: &Kept) -> Result<Resume, SamlIdpError> {
    serde_json::to_string(kept)
        .map(Resume::Saml)
        .map_err(|e| SamlIdpError::Signing(e.to_string()))
}

fn decide<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    app: &SamlApp,
    kept: Kept,
    current: Option<&CurrentSession>,
    fresh_sign_in: bool,
) -> Result<Next, SamlIdpError> {
    let current = match current {
        Some(c) if fresh_sign_in || !kept.force_authn => c,
        other => {
            // ForceAuthn (SAML Core §3.4.1): a sign-in made for this request, whatever the
            // session; the flow records it, and the resume takes it.
            let requirement = Requirement {
                max_age: None,
                force_login: kept.force_authn,
                acr: None,
            };
            let flow = flows::begin_in_org(
                store,
                clock,
                requirement,
                kept_resume(&kept)?,
                ctx.client_addr.clone(),
                app.org_id.clone(),
            )?;
            return Ok(Next::SignIn {
                flow,
                reauth: other.is_some(),
            });
        }
    };
    let user = &current.user.id;
    let org = match admitted_org(store, app, current)? {
        Ok(org) => org,
        Err(why) => return Err(refuse(store, clock, ctx, &app.entity_id, Some(user), why)),
    };
    let factors = store.factors(user)?;
    if !factors.allow(&current.session.amr) {
        let (flow, step) = flows::step_up_session(
            store,
            clock,
            Requirement::default(),
            kept_resume(&kept)?,
            ctx.client_addr.clone(),
            current,
        )?;
        return match step {
            Step::Unmet | Step::Done => Err(refuse(
                store,
                clock,
                ctx,
                &app.entity_id,
                Some(user),
                "this sign-in does not meet the organisation's requirement of a second factor",
            )),
            step => Ok(Next::StepUp { flow, step }),
        };
    }
    answer(store, clock, ctx, app, &kept, current, org.as_ref()).map(Next::Post)
}

/// The organisation the sign-in acts in for `app`: an organisation's app admits only its
/// members whose session may act there (`Membership::admits`, as for an organisation's OAuth
/// client); an operator app admits everyone, acting in the session's organisation (or the
/// only one it may act in).
fn admitted_org<S: IdpStore>(
    store: &S,
    app: &SamlApp,
    current: &CurrentSession,
) -> Result<Result<Option<OrgId>, &'static str>, SamlIdpError> {
    let memberships = admitted_memberships(store, current)?;
    if let Some(owner) = &app.org_id {
        return Ok(if memberships.iter().any(|m| m.org.id == *owner) {
            Ok(Some(owner.clone()))
        } else {
            Err("the user is not a member of the organisation this application belongs to")
        });
    }
    if let Some(org) = current.org_id() {
        return Ok(Ok(Some(org.clone())));
    }
    Ok(Ok(match memberships.as_slice() {
        [only] => Some(only.org.id.clone()),
        _ => None,
    }))
}

/// The pairwise persistent NameID of `user` at the app `entity_id`: stable, opaque, and
/// different at every app (HMAC-SHA256 under a key derived from the server secret).
pub fn persistent_name_id(key: &[u8; 32], user: &UserId, entity_id: &str) -> String {
    let message = format!("{}\u{0}{entity_id}", user.as_str());
    crypto::hex_encode(&crypto::hmac_sha256(key, message.as_bytes()))
}

/// The `SessionIndex` of the session `sid` at the app `entity_id`: pairwise like the
/// persistent NameID, so two apps (or an app and an OIDC client, which see `sid`) cannot link a
/// user's sessions by it.
pub fn session_index(key: &[u8; 32], sid: &str, entity_id: &str) -> String {
    let message = format!("session\u{0}{sid}\u{0}{entity_id}");
    format!(
        "_{}",
        crypto::hex_encode(&crypto::hmac_sha256(key, message.as_bytes()))
    )
}

fn answer<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    app: &SamlApp,
    kept: &Kept,
    current: &CurrentSession,
    org: Option<&OrgId>,
) -> Result<PostForm, SamlIdpError> {
    let now = clock.now();
    let user = &current.user;
    let name_id = match app.nameid_format {
        NameIdFormat::Email => user.email.clone(),
        NameIdFormat::Persistent => persistent_name_id(ctx.nameid_key, &user.id, &app.entity_id),
    };
    let groups = match org {
        Some(org) => store.user_groups(&user.id, org)?,
        None => Vec::new(),
    };
    let (pkcs8, created_at) = ctx
        .keys
        .rs256_signing_pkcs8(now)
        .ok_or_else(|| SamlIdpError::Signing("no active RS256 signing key".into()))?;
    let cert_der = metadata::certificate(ctx.issuer, pkcs8, created_at)?;
    let issuer = metadata::entity_id(ctx.issuer);
    let session_index = session_index(ctx.nameid_key, current.session.sid.as_str(), &app.entity_id);
    let xml = response::signed(
        &Assertion {
            issuer: &issuer,
            acs_url: &kept.acs_url,
            audience: &app.entity_id,
            in_response_to: Some(&kept.request_id),
            name_id: &name_id,
            name_id_format: app.nameid_format.uri(),
            session_index: &session_index,
            authn_instant: current.session.auth_time,
            authn_context: response::authn_context(&current.session.amr),
            email: &user.email,
            name: &user.display_name,
            groups: &groups,
            now,
        },
        &SigningKey {
            pkcs8,
            cert_der: &cert_der,
        },
    )?;
    store.record_event(
        &AuditEvent::new(now, AuditKind::SamlSso, ctx.meta)
            .in_org(app.org_id.as_ref().or(current.org_id()))
            .user(&user.id)
            .subject(&app.entity_id),
    )?;
    Ok(PostForm {
        acs_url: kept.acs_url.clone(),
        saml_response: bindings::encode_post(&xml),
        relay_state: kept.relay_state.clone(),
    })
}

/// Takes the completed sign-in flow `flow` of the signed-in user and answers the AuthnRequest
/// it holds (stored whole, never read from a URL); the sign-in meets its ForceAuthn.
pub fn resume<S: IdpStore>(
    store: &S,
    clock: &dyn Clock,
    ctx: &Ctx<'_>,
    flow: &PlainFlowId,
    current: &CurrentSession,
) -> Result<Resumed, SamlIdpError> {
    let user = &current.user.id;
    let flow = match flows::take_done(store, clock, &FlowPolicy::default(), flow, user)? {
        Pending::Ready(flow) => flow,
        Pending::Unmet(_) => {
            return Err(refuse(
                store,
                clock,
                ctx,
                "",
                Some(user),
                "the sign-in did not meet the requirement",
            ));
        }
        Pending::NotYet => return Ok(Resumed::NotYet),
        Pending::Gone => return Ok(Resumed::Gone),
    };
    let Resume::Saml(json) = &flow.resume else {
        return Ok(Resumed::Gone);
    };
    let Ok(kept) = serde_json::from_str::<Kept>(json) else {
        return Ok(Resumed::Gone);
    };
    // The app is read again: one deleted (or changed) meanwhile is not answered.
    let app = match store.find_saml_app_by_entity_id(&kept.entity_id)? {
        Some(app) if app.acs_for(Some(&kept.acs_url)).is_some() => app,
        _ => {
            return Err(refuse(
                store,
                clock,
                ctx,
                &kept.entity_id,
                Some(user),
                "the application is no longer registered",
            ));
        }
    };
    decide(store, clock, ctx, &app, kept, Some(current), true).map(Resumed::Next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_indexes_are_pairwise_and_opaque() {
        let key = [7u8; 32];
        let a = session_index(&key, "the-sid", "https://a.example");
        let b = session_index(&key, "the-sid", "https://b.example");
        assert_ne!(a, b, "two apps cannot link a session by its index");
        assert_eq!(a, session_index(&key, "the-sid", "https://a.example"));
        assert!(!a.contains("the-sid") && a.starts_with('_'));
        assert_ne!(a, session_index(&[8u8; 32], "the-sid", "https://a.example"));
    }
}
