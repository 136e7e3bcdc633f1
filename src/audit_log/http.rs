//! Organisation > Audit log (`ORG_AUDIT`) and its export (`ORG_AUDIT_EXPORT`): for owners and
//! admins of the session's active organisation (members 403), only that organisation's events.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::service::{self, EventPage, Filter, FilterErrors, FilterInput};
use super::store::Cursor;
use crate::accounts::org_admin::admin_org;
use crate::audit::RequestMeta;
use crate::clock::rfc3339;
use crate::web::error::WebError;
use crate::web::extractors::{SignedIn, state};
use crate::web::html;
use crate::web::paths::{ORG_AUDIT, ORG_AUDIT_EXPORT};

/// The page's GET parameters: all text, read by [`service::parse_filter`], so a bad value
/// re-renders the page with a message rather than failing the request.
#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
}

impl AuditParams {
    fn input(&self) -> FilterInput {
        FilterInput {
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }

    fn cursor(&self) -> Cursor {
        if let Ok(id) = self.before.trim().parse() {
            Cursor::Before(id)
        } else if let Ok(id) = self.after.trim().parse() {
            Cursor::After(id)
        } else {
            Cursor::Newest
        }
    }

    /// The filter's own parameters (for links that keep it), plus `extra`.
    fn query_with(&self, extra: Option<(&str, String)>) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
        pairs.extend(extra);
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

struct Row {
    id: i64,
    time: String,
    event: String,
    actor: String,
    subject: String,
    ip: String,
    detail: String,
}

struct KindOption {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "settings/audit.html")]
struct AuditPage<'a> {
    org_name: &'a str,
    action: &'a str,
    actor: &'a str,
    from: &'a str,
    to: &'a str,
    kinds: Vec<KindOption>,
    errors: FilterErrors,
    notice: Option<String>,
    rows: Vec<Row>,
    older: Option<String>,
    newer: Option<String>,
    export: String,
}

fn kind_options(selected: &str) -> Vec<KindOption> {
    let selected = selected.trim();
    let (kinds, families) = service::kind_choices();
    let mut out = vec![KindOption {
        value: "all".to_owned(),
        label: "All events".to_owned(),
        selected: selected.is_empty() || selected == "all",
    }];
    out.extend(families.into_iter().map(|f| KindOption {
        selected: f == selected,
        label: format!("{f}* (all {})", f.trim_end_matches('.')),
        value: f,
    }));
    out.extend(kinds.into_iter().map(|k| KindOption {
        selected: k == selected,
        label: k.to_owned(),
        value: k.to_owned(),
    }));
    out
}

/// `GET ORG_AUDIT`: the active organisation's events, newest first, 50 a page, filtered by the
/// query parameters (`actor`, `kind`, `from`, `to`; `before`/`after` page on the event id).
pub async fn audit_page(
    req: HttpRequest,
    signed_in: SignedIn,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_AUDIT).await?;
    let params = params.into_inner();
    let (filter, errors) = match service::parse_filter(&params.input()) {
        Ok(f) => (Some(f), FilterErrors::default()),
        Err(errors) => (None, errors),
    };
    let page = match &filter {
        Some(filter) => {
            let (org_id, filter, cursor) = (org.id.clone(), filter.clone(), params.cursor());
            crate::web::read(state(&req).clone(), move |st| {
                service::page(&st.store, &org_id, &filter, cursor)
            })
            .await??
        }
        // A bad filter shows no events: the form and its messages only.
        None => EventPage::default(),
    };
    let notice = match (&filter, page.unknown_actor, page.events.is_empty()) {
        // The same words whether or not such a user exists elsewhere on the server (the
        // filter must not tell an admin who has an account; attack review, issue #14).
        (Some(Filter { actor: Some(_), .. }), true, _) => Some("No events match.".to_owned()),
        (Some(_), false, true) => Some("No events match.".to_owned()),
        _ => None,
    };
    let rows = page
        .events
        .iter()
        .map(|e| Row {
            id: e.id,
            time: rfc3339(e.event.at),
            event: e.event.kind.clone(),
            actor: e
                .actor_name
                .clone()
                .or_else(|| e.event.user_id.as_ref().map(|u| u.to_string()))
                .unwrap_or_default(),
            subject: e.event.subject.clone().unwrap_or_default(),
            ip: e.event.ip.clone().unwrap_or_default(),
            detail: e.event.detail.clone().unwrap_or_default(),
        })
        .collect();
    let link = |key: &str, id: i64| {
        format!(
            "{ORG_AUDIT}?{}",
            params.query_with(Some((key, id.to_string())))
        )
    };
    let export = match params.query_with(None) {
        q if q.is_empty() => ORG_AUDIT_EXPORT.to_owned(),
        q => format!("{ORG_AUDIT_EXPORT}?{q}"),
    };
    let mut builder = HttpResponse::build(if errors.any() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    });
    // The log names people and addresses: not for shared caches, nor kept after sign-out.
    builder.insert_header((CACHE_CONTROL, "no-store"));
    html(
        builder,
        &AuditPage {
            org_name: &org.name,
            action: ORG_AUDIT,
            actor: params.actor.trim(),
            from: params.from.trim(),
            to: params.to.trim(),
            kinds: kind_options(&params.kind),
            errors,
            notice,
            rows,
            older: page.older.map(|id| link("before", id)),
            newer: page.newer.map(|id| link("after", id)),
            export,
        },
    )
}

/// `GET ORG_AUDIT_EXPORT`: the same filter as the page, every matching event (newest first, at
/// most [`service::EXPORT_CAP`]) as JSON lines, as a download. A bad filter is a 400 with the
/// reason; the export is itself audited (`audit.exported`).
pub async fn export(
    req: HttpRequest,
    signed_in: SignedIn,
    params: web::Query<AuditParams>,
    meta: RequestMeta,
) -> Result<HttpResponse, WebError> {
    let org = admin_org(&req, &signed_in, ORG_AUDIT).await?;
    let filter = service::parse_filter(&params.input()).map_err(|e| {
        let why = [e.kind, e.from, e.to]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        WebError::BadRequest(why)
    })?;
    let st = state(&req).clone();
    let (org_id, actor) = (org.id.clone(), signed_in.user().id.clone());
    let body = web::block(move || {
        service::export(
            &st.store,
            st.clock.as_ref(),
            &org_id,
            &filter,
            &actor,
            &meta,
        )
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/x-ndjson"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-{}.jsonl\"", org.id),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body))
}
