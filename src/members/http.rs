//! Organisation > Members and Invitations (issue #14): the pages of the active organisation's
//! owners and admins (members get 403, another organisation's members and invitations 404).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::invitations::{self, InviteError, InviteErrors};
use super::service::{self, Action, Admin, MemberError, PAGE_SIZE};
use super::store::{InvitationStore, MemberInfo, MemberStore};
use crate::accounts::org_admin::admin_membership;
use crate::accounts::types::Role;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::ids::UserId;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{ORG_INVITATIONS, ORG_MEMBERS};
use crate::web::{html, see_other};

/// The active organisation, if the signed-in user is its owner or admin (with the second
/// factor it may require): 403 otherwise; the picker first for a user in several with none
/// active.
pub(super) async fn admin_of(req: &HttpRequest, signed_in: &SignedIn) -> Result<Admin, WebError> {
    let m = admin_membership(req, signed_in, ORG_MEMBERS).await?;
    Ok(Admin {
        org: m.org,
        id: signed_in.user().id.clone(),
        role: m.role,
    })
}

/// A member as a row of the table and the head of the member page.
struct MemberView {
    id: String,
    username: String,
    name: String,
    email: String,
    role: &'static str,
    managed: bool,
    disabled: bool,
    mfa: bool,
    joined: String,
    href: String,
}

impl MemberView {
    fn of(m: &MemberInfo, admin: &Admin) -> Self {
        MemberView {
            id: m.user.id.to_string(),
            username: m.user.username.clone(),
            name: m.user.display_name.clone(),
            email: m.user.email.clone(),
            role: m.role.as_str(),
            managed: m.user.home_org.as_ref() == Some(&admin.org.id),
            disabled: m.user.disabled,
            mfa: m.mfa,
            joined: rfc3339(m.joined),
            href: format!("{ORG_MEMBERS}/{}", m.user.id),
        }
    }
}

#[derive(Template)]
#[template(path = "settings/members.html")]
struct MembersPage<'a> {
    org_name: &'a str,
    q: &'a str,
    members: &'a [MemberView],
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    invitations: &'a str,
    action: &'a str,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

fn list_url(q: &str, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    query.append_pair("page", &page.to_string());
    format!("{ORG_MEMBERS}?{}", query.finish())
}

/// `GET ORG_MEMBERS?q=&page=`: the organisation's members, 50 a page, searched by username,
/// e-mail or name.
pub async fn members_page(
    req: HttpRequest,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let query = query.into_inner();
    // What no username, address or name holds is dropped; a long query is cut.
    let q: String = query
        .q
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned();
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let st = state(&req).clone();
    let (org_id, search) = (admin.org.id.clone(), q.clone());
    let mut found = web::block(move || {
        st.store.list_members(
            &org_id,
            Some(&search),
            (page - 1) * PAGE_SIZE,
            PAGE_SIZE + 1,
        )
    })
    .await??;
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let members: Vec<MemberView> = found.iter().map(|m| MemberView::of(m, &admin)).collect();
    html(
        HttpResponse::build(StatusCode::OK),
        &MembersPage {
            org_name: &admin.org.name,
            q: &q,
            members: &members,
            page,
            prev: (page > 1).then(|| list_url(&q, page - 1)),
            next: more.then(|| list_url(&q, page + 1)),
            invitations: ORG_INVITATIONS,
            action: ORG_MEMBERS,
        },
    )
}

#[derive(Template)]
#[template(path = "settings/member.html")]
struct MemberPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    m: &'a MemberView,
    /// The roles this administrator may choose, with whether it is the member's.
    roles: Vec<(&'static str, bool)>,
    error: Option<&'a str>,
    members: &'a str,
}

async fn render_member(
    req: &HttpRequest,
    signed_in: &SignedIn,
    admin: &Admin,
    user: UserId,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = admin.org.id.clone();
    let member = web::block(move || st.store.find_member(&org_id, &user))
        .await??
        .ok_or(WebError::NotFound)?;
    let view = MemberView::of(&member, admin);
    let roles = [Role::Owner, Role::Admin, Role::Member]
        .into_iter()
        .filter(|r| admin.role == Role::Owner || *r != Role::Owner || member.role == Role::Owner)
        .map(|r| (r.as_str(), r == member.role))
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = token.builder(status);
    html(
        builder,
        &MemberPage {
            csrf: &token.token,
            org_name: &admin.org.name,
            m: &view,
            roles,
            error,
            members: ORG_MEMBERS,
        },
    )
}

/// `GET ORG_MEMBER`: one member, with the actions this administrator may take.
pub async fn member_page(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let user = UserId::new(path.into_inner());
    render_member(&req, &signed_in, &admin, user, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    role: Option<String>,
}

impl CsrfProtected for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST ORG_MEMBER_ACTION`: role, disable, enable, remove, reset-mfa. Done: back to the
/// member (to the list after a removal). Refused: the member page again with the reason.
pub async fn member_action(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
    form: CsrfForm<ActionForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let (user, action) = path.into_inner();
    let form = form.into_inner();
    let user = UserId::new(user);
    let Some(action) = Action::parse(&action, form.role.as_deref()) else {
        if action == "role" {
            return render_member(
                &req,
                &signed_in,
                &admin,
                user,
                StatusCode::BAD_REQUEST,
                Some("Choose owner, admin or member."),
            )
            .await;
        }
        return Err(WebError::NotFound);
    };
    let st = state(&req).clone();
    let (acting, target) = (admin.clone(), user.clone());
    let done = web::block(move || {
        service::act(
            &st.store,
            st.clock.as_ref(),
            &acting,
            &target,
            action,
            &meta,
        )
    })
    .await?;
    match done {
        Ok(_) if action == Action::Remove => Ok(see_other(ORG_MEMBERS)),
        Ok(_) => Ok(see_other(&format!("{ORG_MEMBERS}/{user}"))),
        Err(MemberError::NotFound) => Err(WebError::NotFound),
        Err(MemberError::Store(e)) => Err(e.into()),
        Err(e) => {
            let status = match e {
                MemberError::OwnersOnly => StatusCode::FORBIDDEN,
                MemberError::LastOwner => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = e.to_string();
            render_member(&req, &signed_in, &admin, user, status, Some(&message)).await
        }
    }
}

struct InvitationView {
    id: String,
    email: String,
    role: &'static str,
    created: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "settings/invitations.html")]
struct InvitationsPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    email: &'a str,
    roles: Vec<(&'static str, bool)>,
    errors: &'a InviteErrors,
    notice: Option<&'a str>,
    pending: &'a [InvitationView],
    action: &'a str,
}

async fn render_invitations(
    req: &HttpRequest,
    signed_in: &SignedIn,
    admin: &Admin,
    status: StatusCode,
    input: (&str, &str),
    errors: &InviteErrors,
    notice: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = admin.org.id.clone();
    let pending =
        web::block(move || st.store.pending_invitations(&org_id, st.clock.now())).await??;
    let pending: Vec<InvitationView> = pending
        .into_iter()
        .map(|i| InvitationView {
            id: i.id,
            email: i.email,
            role: i.role.as_str(),
            created: rfc3339(i.created_at),
            expires: rfc3339(i.expires_at),
        })
        .collect();
    let chosen = if input.1.is_empty() {
        "member"
    } else {
        input.1
    };
    let roles = [Role::Owner, Role::Admin, Role::Member]
        .into_iter()
        .filter(|r| admin.role == Role::Owner || *r != Role::Owner)
        .map(|r| (r.as_str(), r.as_str() == chosen))
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let mut builder = token.builder(status);
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &InvitationsPage {
            csrf: &token.token,
            org_name: &admin.org.name,
            email: input.0,
            roles,
            errors,
            notice,
            pending: &pending,
            action: ORG_INVITATIONS,
        },
    )
}

/// `GET ORG_INVITATIONS`: the form, and the pending invitations with their revoke buttons.
pub async fn invitations_page(
    req: HttpRequest,
    signed_in: SignedIn,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let none = InviteErrors::default();
    render_invitations(
        &req,
        &signed_in,
        &admin,
        StatusCode::OK,
        ("", ""),
        &none,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

impl CsrfProtected for InviteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST ORG_INVITATIONS`: invites (the mail goes off the request path), or the form again
/// with the input and a message next to the field.
pub async fn invite(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<InviteForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let form = form.into_inner();
    let st = state(&req).clone();
    let acting = admin.clone();
    let inviter = signed_in.user().display_name.clone();
    let (email, role) = (form.email.clone(), form.role.clone());
    let result = web::block(move || {
        let base = st.settings.server.issuer.to_string();
        invitations::invite(
            &st.store,
            st.clock.as_ref(),
            &*st.mailer,
            &base,
            &acting,
            &inviter,
            &email,
            &role,
            &meta,
        )
    })
    .await?;
    match result {
        Ok(invitation) => {
            let notice = format!(
                "Invitation sent to {} as {}.",
                invitation.email, invitation.role
            );
            let none = InviteErrors::default();
            render_invitations(
                &req,
                &signed_in,
                &admin,
                StatusCode::OK,
                ("", ""),
                &none,
                Some(&notice),
            )
            .await
        }
        Err(InviteError::Input(errors)) => {
            render_invitations(
                &req,
                &signed_in,
                &admin,
                StatusCode::BAD_REQUEST,
                (&form.email, &form.role),
                &errors,
                None,
            )
            .await
        }
        Err(InviteError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST ORG_INVITATION_REVOKE`: the link stops working; 404 for another organisation's.
pub async fn revoke_invitation(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
    _form: CsrfForm<RevokeForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let admin = admin_of(&req, &signed_in).await?;
    let id = path.into_inner();
    let st = state(&req).clone();
    let revoked =
        web::block(move || invitations::revoke(&st.store, st.clock.as_ref(), &admin, &id, &meta))
            .await??;
    if !revoked {
        return Err(WebError::NotFound);
    }
    Ok(see_other(ORG_INVITATIONS))
}
