//! The end of every upstream sign-in (OpenID Connect callback, SAML ACS), written once: the
//! connection read again (a sign-in in flight when it was disabled is refused), just-in-time
//! provisioning or linking, the method recorded in the flow, and the flow's outcome (a second
//! factor the organisation requires, then what the flow resumes).

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};

use super::jit::{self, JitError, Refusal};
use super::oidc_rp::UpstreamClaims;
use super::store::ConnectionStore;
use super::types::{AttributeMapping, Connection};
use crate::accounts::http::outcome_response;
use crate::audit::RequestMeta;
use crate::authn::Method;
use crate::flows::service::{self as flows, FlowPolicy, Outcome, Progress};
use crate::flows::types::Flow;
use crate::web::error::{ErrorPage, WebError};
use crate::web::extractors::session_secret;
use crate::web::state::AppState;

/// A refusal page: the status and the reason, nothing created or linked.
pub fn refused(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(ErrorPage::html(status, message))
}

/// Audits a refused upstream sign-in (`sso.refused`, the connection and `why`).
pub async fn audit_refusal(
    st: &web::Data<AppState>,
    connection: &Connection,
    subject: &str,
    why: &str,
    meta: &RequestMeta,
) -> Result<(), WebError> {
    let (st, connection, subject, why, meta) = (
        st.clone(),
        connection.clone(),
        subject.to_owned(),
        why.to_owned(),
        meta.clone(),
    );
    web::block(move || {
        jit::record_refusal(
            &st.store,
            st.clock.as_ref(),
            &connection,
            &subject,
            &why,
            &meta,
        )
    })
    .await??;
    Ok(())
}

/// Completes an upstream sign-in whose answer was validated (`claims`) within `flow`: the
/// session will act in the connection's organisation. Returns the outcome, or the refusal page.
pub async fn complete_upstream(
    req: &HttpRequest,
    st: &web::Data<AppState>,
    connection: Connection,
    mapping: AttributeMapping,
    claims: UpstreamClaims,
    mut flow: Flow,
    meta: RequestMeta,
) -> Result<Result<Outcome, HttpResponse>, WebError> {
    // The session acts in the connection's organisation (the user is a member of it by now).
    flow.org_id = Some(connection.org_id.clone());
    let previous = session_secret(req);
    let st2 = st.clone();
    let done = web::block(move || {
        // Read again now that the IdP has answered: a connection disabled meanwhile must not
        // let this sign-in in after disabling ended the ones it had let in.
        if !st2
            .store
            .find_connection(&connection.id)?
            .is_some_and(|(c, _)| c.enabled)
        {
            jit::record_refusal(
                &st2.store,
                st2.clock.as_ref(),
                &connection,
                &claims.subject,
                Refusal::ConnectionDisabled.code(),
                &meta,
            )?;
            return Err(JitError::Refused(Refusal::ConnectionDisabled));
        }
        let (user, _) = jit::provision(
            &st2.store,
            st2.clock.as_ref(),
            &connection,
            &mapping,
            &claims,
            &meta,
        )?;
        let outcome = flows::record(
            &st2.store,
            st2.clock.as_ref(),
            st2.session_policy,
            &FlowPolicy::default(),
            Progress { flow, fresh: None },
            &user,
            Method::Federated,
            previous,
            &meta,
        )?;
        Ok::<_, JitError>(outcome)
    })
    .await?;
    match done {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(JitError::Refused(r)) => Ok(Err(refused(StatusCode::FORBIDDEN, &r.to_string()))),
        Err(JitError::Store(e)) => Err(e.into()),
        Err(JitError::Account(e)) => Err(WebError::Internal(e.to_string())),
    }
}

/// [`complete_upstream`] answered as a response.
pub async fn complete_upstream_response(
    req: &HttpRequest,
    st: &web::Data<AppState>,
    connection: Connection,
    mapping: AttributeMapping,
    claims: UpstreamClaims,
    flow: Flow,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    match complete_upstream(req, st, connection, mapping, claims, flow, meta).await? {
        Ok(outcome) => outcome_response(req, outcome),
        Err(page) => Ok(page),
    }
}
