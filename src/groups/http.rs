//! Organisation > Groups: the list with a create form, and a group's page with its members and
//! the forms of its actions (rename, delete, add and remove a member). Managed groups show
//! who manages them and no form; an action posted to one anyway is refused with that message.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::service::{self, GroupError};
use super::store::{GroupInfo, GroupMember};
use crate::accounts::org_admin::admin_org;
use crate::accounts::types::Organisation;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::ids::{GroupId, UserId};
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{ORG_GROUP, ORG_GROUP_ACTION, ORG_GROUPS};
use crate::web::{html, see_other};

struct GroupRow {
    name: String,
    href: String,
    managed_by: Option<&'static str>,
    members: i64,
    created: String,
}

#[derive(Template)]
#[template(path = "settings/org_groups.html")]
struct GroupsPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    groups: Vec<GroupRow>,
    action: &'a str,
    name: &'a str,
    name_error: Option<String>,
}

struct MemberRow {
    user_id: String,
    username: String,
    display_name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "settings/org_group.html")]
struct GroupPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    name: &'a str,
    managed_by: Option<&'static str>,
    members: Vec<MemberRow>,
    rename_action: String,
    delete_action: String,
    add_action: String,
    remove_action: String,
    back: &'a str,
    /// The rename form's value and message.
    new_name: &'a str,
    name_error: Option<String>,
    /// The add-member form's value and message.
    login: &'a str,
    login_error: Option<String>,
    /// A refusal that belongs to no field (a managed group, a member no longer there).
    error: Option<String>,
}

fn action_url(id: &GroupId, action: &str) -> String {
    ORG_GROUP_ACTION
        .replace("{id}", id.as_str())
        .replace("{action}", action)
}

fn group_url(id: &GroupId) -> String {
    ORG_GROUP.replace("{id}", id.as_str())
}

async fn render_list(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &Organisation,
    status: StatusCode,
    name: &str,
    name_error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = org.id.clone();
    let groups = web::block(move || service::list(&st.store, &org_id))
        .await?
        .map_err(page_error)?;
    let rows = groups
        .into_iter()
        .map(|g: GroupInfo| GroupRow {
            href: group_url(&g.id),
            name: g.name,
            managed_by: g.manager.label(),
            members: g.members,
            created: rfc3339(g.created_at),
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = token.builder(status);
    html(
        builder,
        &GroupsPage {
            csrf: &token.token,
            org_name: &org.name,
            groups: rows,
            action: ORG_GROUPS,
            name,
            name_error,
        },
    )
}

/// What the group page shows besides the group: its forms' values and messages.
#[derive(Default)]
struct Feedback<'a> {
    new_name: Option<&'a str>,
    name_error: Option<String>,
    login: &'a str,
    login_error: Option<String>,
    error: Option<String>,
}

async fn render_group(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &Organisation,
    id: &GroupId,
    status: StatusCode,
    feedback: Feedback<'_>,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let (org_id, group_id) = (org.id.clone(), id.clone());
    let (group, members) = web::block(move || service::show(&st.store, &org_id, &group_id))
        .await?
        .map_err(page_error)?;
    let members = members
        .into_iter()
        .map(|m: GroupMember| MemberRow {
            user_id: m.user_id.into_string(),
            username: m.username,
            display_name: m.display_name,
            email: m.email,
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = token.builder(status);
    html(
        builder,
        &GroupPage {
            csrf: &token.token,
            org_name: &org.name,
            name: &group.name,
            managed_by: group.manager.label(),
            members,
            rename_action: action_url(id, "rename"),
            delete_action: action_url(id, "delete"),
            add_action: action_url(id, "add-member"),
            remove_action: action_url(id, "remove-member"),
            back: ORG_GROUPS,
            new_name: feedback.new_name.unwrap_or(&group.name),
            name_error: feedback.name_error,
            login: feedback.login,
            login_error: feedback.login_error,
            error: feedback.error,
        },
    )
}

/// Errors that are no one field's: a missing group is 404 wherever it is asked for.
fn page_error(e: GroupError) -> WebError {
    match e {
        GroupError::NotFound => WebError::NotFound,
        GroupError::Store(e) => e.into(),
        other => WebError::BadRequest(other.to_string()),
    }
}

/// `GET /settings/organisation/groups`.
pub async fn groups_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_GROUPS).await?;
    render_list(&req, &signed_in, &org, StatusCode::OK, "", None).await
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    user_id: String,
}

impl CsrfProtected for GroupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /settings/organisation/groups`: creates a group, then its page; a bad or taken name
/// re-renders the list with the name and a message next to it.
pub async fn create_group(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<GroupForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_GROUPS).await?;
    let form = form.into_inner();
    let st = state(&req).clone();
    let (o, actor, name) = (org.clone(), signed_in.user().id.clone(), form.name.clone());
    let created =
        web::block(move || service::create(&st.store, st.clock.as_ref(), &o, &actor, &name, &meta))
            .await?;
    match created {
        Ok(id) => Ok(see_other(&group_url(&id))),
        Err(e @ (GroupError::Name | GroupError::Duplicate)) => {
            let status = StatusCode::BAD_REQUEST;
            render_list(
                &req,
                &signed_in,
                &org,
                status,
                &form.name,
                Some(e.to_string()),
            )
            .await
        }
        Err(e) => Err(page_error(e)),
    }
}

/// `GET /settings/organisation/groups/{id}`: 404 for another organisation's group.
pub async fn group_page(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId::new(path.into_inner());
    let org = admin_org(&req, &signed_in, req.path()).await?;
    render_group(
        &req,
        &signed_in,
        &org,
        &id,
        StatusCode::OK,
        Feedback::default(),
    )
    .await
}

/// `POST /settings/organisation/groups/{id}/{action}`: `rename`, `delete`, `add-member`,
/// `remove-member`. 404 for another organisation's group or an unknown action; a managed
/// group's page with the refusal (403); bad input its page with a message at the field (400).
pub async fn group_action(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
    form: CsrfForm<GroupForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let id = GroupId::new(id);
    let org = admin_org(&req, &signed_in, ORG_GROUPS).await?;
    if !["rename", "delete", "add-member", "remove-member"].contains(&action.as_str()) {
        return Err(WebError::NotFound);
    }
    let form = form.into_inner();
    let st = state(&req).clone();
    let (o, actor, group) = (org.clone(), signed_in.user().id.clone(), id.clone());
    let (name, login, user_id) = (form.name.clone(), form.login.clone(), form.user_id.clone());
    let act = action.clone();
    let done = web::block(move || {
        let (store, clock) = (&st.store, st.clock.as_ref());
        match act.as_str() {
            "rename" => service::rename(store, clock, &o, &actor, &group, &name, &meta),
            "delete" => service::delete(store, clock, &o, &actor, &group, &meta),
            "add-member" => {
                service::add_member(store, clock, &o, &actor, &group, &login, &meta).map(|_| ())
            }
            _ => {
                let user = UserId::new(user_id);
                service::remove_member(store, clock, &o, &actor, &group, &user, &meta)
            }
        }
    })
    .await?;
    let e = match done {
        Ok(()) if action == "delete" => return Ok(see_other(ORG_GROUPS)),
        Ok(()) => return Ok(see_other(&group_url(&id))),
        Err(e) => e,
    };
    let message = e.to_string();
    let (status, feedback) = match e {
        GroupError::NotFound => return Err(WebError::NotFound),
        GroupError::Store(e) => return Err(e.into()),
        GroupError::Managed(_) => (
            StatusCode::FORBIDDEN,
            Feedback {
                error: Some(message),
                ..Feedback::default()
            },
        ),
        GroupError::Name | GroupError::Duplicate => (
            StatusCode::BAD_REQUEST,
            Feedback {
                new_name: Some(form.name.as_str()),
                name_error: Some(message),
                ..Feedback::default()
            },
        ),
        GroupError::UnknownMember | GroupError::AmbiguousMember | GroupError::AlreadyMember => (
            StatusCode::BAD_REQUEST,
            Feedback {
                login: &form.login,
                login_error: Some(message),
                ..Feedback::default()
            },
        ),
        GroupError::NotInGroup => (
            StatusCode::BAD_REQUEST,
            Feedback {
                error: Some(message),
                ..Feedback::default()
            },
        ),
    };
    render_group(&req, &signed_in, &org, &id, status, feedback).await
}
