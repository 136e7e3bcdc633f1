//! Organisation > OAuth applications: the organisation's clients, a registration form, a page
//! per client with its edit form, and confirmations for rotating its secret and deleting it.
//! A secret is shown once, on a `no-store` page. Thin: [`super::org_clients`] decides.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use askama::Template;
use serde::Deserialize;

use super::clients::ClientInputError;
use super::org_clients::{self, ClientInput, IDENTITY_SCOPES, OFFERED_GRANTS, OrgClientError};
use super::types::{Client, GrantType, TokenFormat, describe_scope};
use crate::accounts::org_admin::admin_org;
use crate::accounts::types::Organisation;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::ids::ClientId;
use crate::scopes::API_SCOPES;
use crate::web::csrf::{self, CsrfForm, CsrfProtected};
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::paths::{ORG_OAUTH_APP, ORG_OAUTH_APP_ACTION, ORG_OAUTH_APPS};
use crate::web::{html, see_other};

/// A checkbox of the form.
struct Check {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

/// Messages next to the form's fields.
#[derive(Default)]
struct FieldErrors {
    name: Option<String>,
    redirect_uris: Option<String>,
    post_logout: Option<String>,
    scopes: Option<String>,
    grant_types: Option<String>,
    token_format: Option<String>,
    resources: Option<String>,
    other: Option<String>,
}

/// The registration or edit form as shown: empty, a client's, or the user's input.
struct FormView {
    name: String,
    public: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    resources: String,
    jwt: bool,
    scopes: Vec<Check>,
    grants: Vec<Check>,
    errors: FieldErrors,
}

impl FormView {
    fn new(input: &ClientInput, scopes: &[String], grants: &[String], errors: FieldErrors) -> Self {
        let offered = IDENTITY_SCOPES.iter().chain(API_SCOPES.iter());
        FormView {
            name: input.name.clone(),
            public: input.public,
            redirect_uris: input.redirect_uris.join("\n"),
            post_logout_redirect_uris: input.post_logout_redirect_uris.join("\n"),
            resources: input.resources.join("\n"),
            jwt: input.access_token_format == TokenFormat::Jwt.as_str(),
            scopes: offered
                .map(|&s| Check {
                    value: s,
                    label: if IDENTITY_SCOPES.contains(&s) {
                        describe_scope(s)
                    } else {
                        "API permission"
                    },
                    checked: scopes.iter().any(|c| c == s),
                })
                .collect(),
            grants: OFFERED_GRANTS
                .iter()
                .map(|&(g, label)| Check {
                    value: g.as_str(),
                    label,
                    checked: grants.iter().any(|c| c == g.as_str()),
                })
                .collect(),
            errors,
        }
    }

    /// A new registration's defaults: confidential, sign-in with refresh, the identity scopes.
    fn blank() -> Self {
        let input = ClientInput {
            access_token_format: TokenFormat::Opaque.as_str().into(),
            ..ClientInput::default()
        };
        let scopes = ["openid", "profile", "email"].map(String::from);
        let grants =
            [GrantType::AuthorizationCode, GrantType::RefreshToken].map(|g| g.as_str().to_owned());
        Self::new(&input, &scopes, &grants, FieldErrors::default())
    }

    fn of_client(c: &Client) -> Self {
        let input = input_of(c);
        Self::new(
            &input,
            &input.scopes,
            &input.grant_types,
            FieldErrors::default(),
        )
    }

    fn of_input(input: &ClientInput, errors: FieldErrors) -> Self {
        Self::new(input, &input.scopes, &input.grant_types, errors)
    }
}

fn input_of(c: &Client) -> ClientInput {
    ClientInput {
        name: c.name.clone(),
        public: c.is_public(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        scopes: c.scopes.iter().map(str::to_owned).collect(),
        grant_types: c
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        access_token_format: c.access_token_format.as_str().into(),
        resources: c.resources.clone(),
    }
}

/// The field a refusal belongs next to, and what it says there.
fn field_errors(e: &OrgClientError) -> FieldErrors {
    let msg = |s: String| Some(s);
    let mut f = FieldErrors::default();
    match e {
        OrgClientError::Invalid(ClientInputError::Name) => f.name = msg(e.to_string()),
        OrgClientError::Invalid(
            ClientInputError::GrantType(_) | ClientInputError::PublicClientCredentials,
        )
        | OrgClientError::NoGrantType => f.grant_types = msg(e.to_string()),
        OrgClientError::Invalid(ClientInputError::NoRedirectUri) => {
            f.redirect_uris =
                msg("The authorization code grant needs at least one redirect URI.".into())
        }
        OrgClientError::Invalid(ClientInputError::Uri(u)) => {
            f.redirect_uris = msg(format!("This redirect URI cannot be registered: {u}."))
        }
        OrgClientError::Invalid(ClientInputError::PostLogoutUri(u)) => {
            f.post_logout = msg(format!("This URI cannot be registered: {u}."))
        }
        OrgClientError::Invalid(ClientInputError::Resource(u)) => {
            f.resources = msg(format!("This resource cannot be registered: {u}."))
        }
        OrgClientError::Invalid(ClientInputError::Scope)
        | OrgClientError::NoScope
        | OrgClientError::UnknownScope(_) => f.scopes = msg(e.to_string()),
        OrgClientError::TokenFormat => f.token_format = msg(e.to_string()),
        _ => f.other = msg(e.to_string()),
    }
    f
}

/// The registration and edit forms: `scope` and `grant_type` repeat (checkboxes), which a
/// derived struct cannot hold, so the pairs are kept in order.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct ClientForm(Vec<(String, String)>);

impl ClientForm {
    fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn lines(&self, name: &str) -> Vec<String> {
        self.one(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn input(&self) -> ClientInput {
        ClientInput {
            name: self.one("name").to_owned(),
            public: self.one("client_type") == "public",
            redirect_uris: self.lines("redirect_uris"),
            post_logout_redirect_uris: self.lines("post_logout_redirect_uris"),
            scopes: self.all("scope"),
            grant_types: self.all("grant_type"),
            access_token_format: self.one("access_token_format").to_owned(),
            resources: self.lines("resources"),
        }
    }
}

impl CsrfProtected for ClientForm {
    fn csrf(&self) -> &str {
        self.one("csrf")
    }
}

/// A form with nothing but its CSRF token (the confirmations).
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

struct AppRow {
    id: String,
    name: String,
    href: String,
    kind: &'static str,
    grants: String,
    created: String,
}

fn kind(c: &Client) -> &'static str {
    if c.is_public() {
        "Public"
    } else {
        "Confidential"
    }
}

#[derive(Template)]
#[template(path = "settings/org_oauth_apps.html")]
struct AppsPage<'a> {
    csrf: &'a str,
    org_name: &'a str,
    apps: Vec<AppRow>,
    form: FormView,
    action: &'a str,
    editing: bool,
}

struct AppView {
    id: String,
    name: String,
    kind: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "settings/org_oauth_app.html")]
struct AppPage<'a> {
    csrf: &'a str,
    app: AppView,
    /// A secret just created or rotated: shown this once.
    secret: Option<&'a str>,
    notice: Option<&'a str>,
    form: FormView,
    action: String,
    editing: bool,
    rotate_href: String,
    delete_href: String,
    back: &'a str,
    issuer: &'a str,
}

#[derive(Template)]
#[template(path = "settings/org_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    title: &'a str,
    question: String,
    action: String,
    button: &'a str,
    back: String,
}

fn app_url(id: &ClientId) -> String {
    ORG_OAUTH_APP.replace("{id}", id.as_str())
}

fn action_url(id: &ClientId, action: &str) -> String {
    ORG_OAUTH_APP_ACTION
        .replace("{id}", id.as_str())
        .replace("{action}", action)
}

/// Every page here may show a secret, or the form that made one: no cache keeps them (RFC 9111
/// §5.2.2.5).
fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((CACHE_CONTROL, "no-store"));
    builder
}

fn page_error(e: OrgClientError) -> WebError {
    match e {
        OrgClientError::NotFound => WebError::NotFound,
        OrgClientError::Store(e) => e.into(),
        other => WebError::BadRequest(other.to_string()),
    }
}

async fn render_list(
    req: &HttpRequest,
    signed_in: &SignedIn,
    org: &Organisation,
    status: StatusCode,
    form: FormView,
) -> Result<HttpResponse, WebError> {
    let st = state(req).clone();
    let org_id = org.id.clone();
    let list = web::block(move || org_clients::list(&st.store, &org_id))
        .await?
        .map_err(page_error)?;
    let apps = list
        .iter()
        .map(|c| AppRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            href: app_url(&c.id),
            kind: kind(c),
            grants: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: rfc3339(c.created_at),
        })
        .collect();
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = no_store(token.builder(status));
    html(
        builder,
        &AppsPage {
            csrf: &token.token,
            org_name: &org.name,
            apps,
            form,
            action: ORG_OAUTH_APPS,
            editing: false,
        },
    )
}

/// What a client's page shows besides the client.
struct Shown<'a> {
    status: StatusCode,
    secret: Option<&'a str>,
    notice: Option<&'a str>,
    /// The form as the user sent it (a refused edit); the client's own otherwise.
    form: Option<FormView>,
}

impl Shown<'_> {
    fn plain() -> Self {
        Shown {
            status: StatusCode::OK,
            secret: None,
            notice: None,
            form: None,
        }
    }
}

fn render_app(
    req: &HttpRequest,
    signed_in: &SignedIn,
    client: &Client,
    shown: Shown<'_>,
) -> Result<HttpResponse, WebError> {
    let st = state(req);
    let mut token = csrf::issue(st, req, Some(signed_in.sid()));
    let builder = no_store(token.builder(shown.status));
    let mut form = shown.form.unwrap_or_else(|| FormView::of_client(client));
    form.public = client.is_public();
    html(
        builder,
        &AppPage {
            csrf: &token.token,
            app: AppView {
                id: client.id.to_string(),
                name: client.name.clone(),
                kind: kind(client),
                created: rfc3339(client.created_at),
            },
            secret: shown.secret,
            notice: shown.notice,
            form,
            action: app_url(&client.id),
            editing: true,
            rotate_href: action_url(&client.id, "rotate"),
            delete_href: action_url(&client.id, "delete"),
            back: ORG_OAUTH_APPS,
            issuer: st.settings.server.issuer_str(),
        },
    )
}

/// `GET /settings/organisation/oauth-apps`.
pub async fn apps_page(req: HttpRequest, signed_in: SignedIn) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_OAUTH_APPS).await?;
    render_list(&req, &signed_in, &org, StatusCode::OK, FormView::blank()).await
}

/// `POST /settings/organisation/oauth-apps`: registers a client and shows its page with the
/// secret, once; refused input re-renders the form with it and a message at the field.
pub async fn register_app(
    req: HttpRequest,
    signed_in: SignedIn,
    form: CsrfForm<ClientForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_OAUTH_APPS).await?;
    let input = form.into_inner().input();
    let st = state(&req).clone();
    let (o, actor, given) = (org.clone(), signed_in.user().id.clone(), input.clone());
    let registered = web::block(move || {
        org_clients::register(&st.store, st.clock.as_ref(), &o, &actor, given, &meta)
    })
    .await?;
    match registered {
        Ok((client, secret)) => {
            let notice = "The application is registered.";
            let shown = Shown {
                secret: secret.as_ref().map(|s| s.expose()),
                notice: Some(notice),
                ..Shown::plain()
            };
            render_app(&req, &signed_in, &client, shown)
        }
        Err(
            e @ (OrgClientError::NotFound
            | OrgClientError::Store(_)
            | OrgClientError::OperatorManaged),
        ) => Err(page_error(e)),
        Err(e) => {
            let form = FormView::of_input(&input, field_errors(&e));
            render_list(&req, &signed_in, &org, StatusCode::BAD_REQUEST, form).await
        }
    }
}

/// `GET /settings/organisation/oauth-apps/{id}`: 404 for another organisation's client and
/// for the operator's.
pub async fn app_page(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = ClientId::new(path.into_inner());
    let org = admin_org(&req, &signed_in, req.path()).await?;
    let st = state(&req).clone();
    let client = web::block(move || org_clients::get(&st.store, &org.id, &id))
        .await?
        .map_err(page_error)?;
    render_app(&req, &signed_in, &client, Shown::plain())
}

/// `POST /settings/organisation/oauth-apps/{id}`: the edit, validated again as a whole.
pub async fn update_app(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: CsrfForm<ClientForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let id = ClientId::new(path.into_inner());
    let org = admin_org(&req, &signed_in, ORG_OAUTH_APPS).await?;
    let input = form.into_inner().input();
    let st = state(&req).clone();
    let (o, actor, given, client_id) = (
        org.clone(),
        signed_in.user().id.clone(),
        input.clone(),
        id.clone(),
    );
    let updated = web::block(move || {
        let clock = st.clock.as_ref();
        org_clients::update(&st.store, clock, &o, &actor, &client_id, given, &meta)
    })
    .await?;
    match updated {
        Ok(_) => Ok(see_other(&app_url(&id))),
        Err(
            e @ (OrgClientError::NotFound
            | OrgClientError::Store(_)
            | OrgClientError::OperatorManaged),
        ) => Err(page_error(e)),
        Err(e) => {
            let st = state(&req).clone();
            let org_id = org.id.clone();
            let client = web::block(move || org_clients::get(&st.store, &org_id, &id))
                .await?
                .map_err(page_error)?;
            let shown = Shown {
                status: StatusCode::BAD_REQUEST,
                form: Some(FormView::of_input(&input, field_errors(&e))),
                ..Shown::plain()
            };
            render_app(&req, &signed_in, &client, shown)
        }
    }
}

fn known_action(action: &str) -> Result<(), WebError> {
    match action {
        "rotate" | "delete" => Ok(()),
        _ => Err(WebError::NotFound),
    }
}

/// `GET /settings/organisation/oauth-apps/{id}/{action}`: the confirmation of `rotate` or
/// `delete`.
pub async fn confirm_action(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let id = ClientId::new(id);
    let org = admin_org(&req, &signed_in, req.path()).await?;
    known_action(&action)?;
    let st = state(&req).clone();
    let client = web::block(move || org_clients::get(&st.store, &org.id, &id))
        .await?
        .map_err(page_error)?;
    let (title, question, button) = if action == "rotate" {
        if client.is_public() {
            return Err(WebError::NotFound);
        }
        (
            "Rotate the secret",
            format!(
                "A new secret replaces the secret of {} at once: the old one stops working.",
                client.name
            ),
            "Yes, rotate",
        )
    } else {
        (
            "Delete the application",
            format!(
                "{} is deleted with everything issued to it: its users' tokens and consents end at once.",
                client.name
            ),
            "Yes, delete",
        )
    };
    let st = state(&req);
    let mut token = csrf::issue(st, &req, Some(signed_in.sid()));
    let builder = no_store(token.builder(StatusCode::OK));
    html(
        builder,
        &ConfirmPage {
            csrf: &token.token,
            title,
            question,
            action: action_url(&client.id, &action),
            button,
            back: app_url(&client.id),
        },
    )
}

/// `POST /settings/organisation/oauth-apps/{id}/{action}`: `rotate` shows the new secret once;
/// `delete` goes back to the list. 404 for another organisation's client, the operator's, or
/// an unknown action.
pub async fn app_action(
    req: HttpRequest,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
    _form: CsrfForm<ConfirmForm>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let id = ClientId::new(id);
    let org = admin_org(&req, &signed_in, ORG_OAUTH_APPS).await?;
    known_action(&action)?;
    let st = state(&req).clone();
    let actor = signed_in.user().id.clone();
    if action == "delete" {
        web::block(move || {
            org_clients::delete(&st.store, st.clock.as_ref(), &org, &actor, &id, &meta)
        })
        .await?
        .map_err(page_error)?;
        return Ok(see_other(ORG_OAUTH_APPS));
    }
    let (client, secret) = web::block(move || {
        org_clients::rotate(&st.store, st.clock.as_ref(), &org, &actor, &id, &meta)
    })
    .await?
    .map_err(page_error)?;
    let shown = Shown {
        secret: Some(secret.expose()),
        notice: Some("The secret was rotated: the old one no longer works."),
        ..Shown::plain()
    };
    render_app(&req, &signed_in, &client, shown)
}
