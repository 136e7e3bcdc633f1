//! The audit log's rules, without HTTP: parsing the filter (GET parameters, so a filtered
//! view is bookmarkable), resolving the actor, paging, and the JSON lines of the export.

use chrono::NaiveDateTime;
use serde_json::json;

use super::store::{AuditLogStore, Cursor, EventQuery, KindFilter, LoggedEvent};
use crate::accounts::types::Namespace;
use crate::audit::{AuditEvent, AuditKind, AuditStore, RequestMeta};
use crate::clock::{Clock, UnixTime, rfc3339};
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;

/// Events on one page.
pub const PAGE_SIZE: i64 = 50;
/// The most lines one export holds (newest first); a narrower filter reaches older events.
pub const EXPORT_CAP: i64 = 100_000;

/// The filter as typed (every field may be empty).
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub actor: String,
    pub kind: String,
    pub from: String,
    pub to: String,
}

/// A message for each field that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterErrors {
    pub kind: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl FilterErrors {
    pub fn any(&self) -> bool {
        self.kind.is_some() || self.from.is_some() || self.to.is_some()
    }
}

/// A parsed filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A username or e-mail address, as typed (trimmed).
    pub actor: Option<String>,
    pub kind: Option<KindFilter>,
    pub from: Option<UnixTime>,
    pub to: Option<UnixTime>,
}

/// A `datetime-local` value (`2026-12-08T09:30`, seconds optional), read as UTC.
pub fn parse_time(s: &str) -> Result<Option<UnixTime>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| Some(t.and_utc().timestamp()))
        .ok_or_else(|| "enter a date and time like 2026-12-08T09:30 (UTC)".to_owned())
}

/// An event type (`sign_in.failed`) or a family ending in `.` (`sso.`): lowercase letters,
/// digits, `_` and `.`, as every `AuditKind::as_str` is.
fn parse_kind(s: &str) -> Result<Option<KindFilter>, String> {
    let s = s.trim();
    if s.is_empty() || s == "all" {
        return Ok(None);
    }
    // `sso.*` is the family `sso.`, as the select's labels show it.
    let s = s.strip_suffix('*').unwrap_or(s);
    let ok = s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !ok {
        return Err("not an event type".to_owned());
    }
    Ok(Some(match s {
        p if p.ends_with('.') => KindFilter::Prefix(p.to_owned()),
        k => KindFilter::Exact(k.to_owned()),
    }))
}

pub fn parse_filter(input: &FilterInput) -> Result<Filter, FilterErrors> {
    let actor = Some(input.actor.trim())
        .filter(|a| !a.is_empty())
        .map(|a| a.chars().take(254).collect());
    let kind = parse_kind(&input.kind);
    let from = parse_time(&input.from);
    let mut to = parse_time(&input.to);
    // `to` names a minute (or a second): it includes all of it.
    if let Ok(Some(t)) = &mut to
        && input.to.trim().len() <= "2026-12-08T09:30".len()
    {
        *t += 59;
    }
    if let (Ok(Some(f)), Ok(Some(t))) = (&from, &to)
        && f > t
    {
        to = Err("must not be before From".to_owned());
    }
    match (kind, from, to) {
        (Ok(kind), Ok(from), Ok(to)) => Ok(Filter {
            actor,
            kind,
            from,
            to,
        }),
        (kind, from, to) => Err(FilterErrors {
            kind: kind.err(),
            from: from.err(),
            to: to.err(),
        }),
    }
}

/// The event types the filter's select offers: every kind, and the families they form.
pub fn kind_choices() -> (Vec<&'static str>, Vec<String>) {
    let mut kinds: Vec<&'static str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut families: Vec<String> = kinds
        .iter()
        .filter_map(|k| k.split_once('.').map(|(f, _)| format!("{f}.")))
        .collect();
    families.dedup();
    families.retain(|f| kinds.iter().filter(|k| k.starts_with(f.as_str())).count() > 1);
    (kinds, families)
}

/// One page of events.
#[derive(Debug, Clone, Default)]
pub struct EventPage {
    pub events: Vec<LoggedEvent>,
    /// The cursor of the "Older" link, when older events match.
    pub older: Option<i64>,
    /// The cursor of the "Newer" link, when newer events match.
    pub newer: Option<i64>,
    /// An actor was asked for and no user goes by that name or address.
    pub unknown_actor: bool,
}

/// The users an actor filter names: by username or e-mail, in the server's namespace or as an
/// account `org` manages, or by id (`usr_…`).
fn actor_ids<S: AuditLogStore>(store: &S, org: &OrgId, actor: &str) -> StoreResult<Vec<UserId>> {
    let key = actor.to_lowercase();
    let keys = vec![
        Namespace::Server.stored_key(&key),
        Namespace::Org(org.clone()).stored_key(&key),
    ];
    let mut ids = store.users_by_key(&keys)?;
    if actor.starts_with("usr_") {
        ids.push(UserId::new(actor.to_owned()));
    }
    Ok(ids)
}

fn query<S: AuditLogStore>(
    store: &S,
    org: &OrgId,
    filter: &Filter,
    cursor: Cursor,
    limit: i64,
) -> StoreResult<Option<EventQuery>> {
    let actors = match &filter.actor {
        Some(actor) => {
            let ids = actor_ids(store, org, actor)?;
            if ids.is_empty() {
                return Ok(None);
            }
            Some(ids)
        }
        None => None,
    };
    Ok(Some(EventQuery {
        org: org.clone(),
        actors,
        kind: filter.kind.clone(),
        from: filter.from,
        to: filter.to,
        cursor,
        limit,
    }))
}

/// One page of `org`'s events matching `filter`, from `cursor`, newest first.
pub fn page<S: AuditLogStore>(
    store: &S,
    org: &OrgId,
    filter: &Filter,
    cursor: Cursor,
) -> StoreResult<EventPage> {
    let Some(q) = query(store, org, filter, cursor, PAGE_SIZE + 1)? else {
        return Ok(EventPage {
            unknown_actor: true,
            ..EventPage::default()
        });
    };
    let mut events = store.org_events(&q)?;
    let more = events.len() as i64 > PAGE_SIZE;
    let (mut older, mut newer) = (None, None);
    match cursor {
        Cursor::After(_) => {
            if more {
                // The extra one is the newest: it belongs to the next newer page.
                events.remove(0);
                newer = events.first().map(|e| e.id);
            }
            older = events.last().map(|e| e.id);
        }
        Cursor::Newest | Cursor::Before(_) => {
            if more {
                events.truncate(PAGE_SIZE as usize);
                older = events.last().map(|e| e.id);
            }
            if matches!(cursor, Cursor::Before(_)) {
                newer = events.first().map(|e| e.id);
            }
        }
    }
    Ok(EventPage {
        events,
        older,
        newer,
        unknown_actor: false,
    })
}

/// One event as a line of the export: stable field names, times in RFC 3339 UTC and Unix
/// seconds, absent values as `null`.
pub fn json_line(e: &LoggedEvent) -> String {
    let ev = &e.event;
    json!({
        "id": e.id,
        "at": rfc3339(ev.at),
        "at_unix": ev.at,
        "event": ev.kind,
        "actor_id": ev.user_id.as_ref().map(UserId::as_str),
        "actor": e.actor_name,
        "subject": ev.subject,
        "ip": ev.ip,
        "user_agent": ev.user_agent,
        "detail": ev.detail,
        "org_id": ev.org_id.as_ref().map(OrgId::as_str),
    })
    .to_string()
}

/// The export: every event of `org` matching `filter`, newest first, at most
/// [`EXPORT_CAP`], as JSON lines; audited as `audit.exported` (detail: the filter and the
/// count), by `actor`.
pub fn export<S: AuditLogStore + AuditStore>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    filter: &Filter,
    actor: &UserId,
    meta: &RequestMeta,
) -> StoreResult<String> {
    let events = match query(store, org, filter, Cursor::Newest, EXPORT_CAP)? {
        Some(q) => store.org_events(&q)?,
        None => Vec::new(),
    };
    let mut body = String::with_capacity(events.len() * 256);
    for e in &events {
        body.push_str(&json_line(e));
        body.push('\n');
    }
    let described = describe(filter);
    store.record_event(
        &AuditEvent::new(clock.now(), AuditKind::AuditExported, meta)
            .org(org)
            .user(actor)
            .detail(format!("{} events; {described}", events.len())),
    )?;
    Ok(body)
}

/// The filter in words, for the audit event of an export.
fn describe(f: &Filter) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &f.actor {
        parts.push(format!("actor={a}"));
    }
    match &f.kind {
        Some(KindFilter::Exact(k)) | Some(KindFilter::Prefix(k)) => parts.push(format!("type={k}")),
        None => {}
    }
    if let Some(t) = f.from {
        parts.push(format!("from={}", rfc3339(t)));
    }
    if let Some(t) = f.to {
        parts.push(format!("to={}", rfc3339(t)));
    }
    if parts.is_empty() {
        "no filter".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_datetime_local_in_utc() {
        assert_eq!(parse_time("2026-12-08T09:30").unwrap(), Some(1_796_722_200));
        assert_eq!(
            parse_time("2026-12-08T09:30:15").unwrap(),
            Some(1_796_722_215)
        );
        assert_eq!(parse_time("").unwrap(), None);
        for bad in ["yesterday", "2026-13-01T00:00", "2026-12-08", "1e9"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_filter_reports_each_bad_field() {
        let e = parse_filter(&FilterInput {
            actor: " alice ".into(),
            kind: "DROP TABLE".into(),
            from: "soon".into(),
            to: "2026-12-08T09:30".into(),
        })
        .unwrap_err();
        assert!(e.kind.is_some() && e.from.is_some() && e.to.is_none());
        let f = parse_filter(&FilterInput {
            kind: "sso.".into(),
            to: "2026-12-08T09:30".into(),
            ..FilterInput::default()
        })
        .unwrap();
        assert_eq!(f.kind, Some(KindFilter::Prefix("sso.".into())));
        // The minute named by `to` is included.
        assert_eq!(f.to, Some(1_796_722_200 + 59));
        let e = parse_filter(&FilterInput {
            from: "2026-12-09T00:00".into(),
            to: "2026-12-08T00:00".into(),
            ..FilterInput::default()
        })
        .unwrap_err();
        assert!(e.to.is_some());
        assert_eq!(
            parse_filter(&FilterInput {
                kind: "all".into(),
                ..FilterInput::default()
            })
            .unwrap()
            .kind,
            None
        );
    }

    #[test]
    fn a_family_is_named_with_or_without_its_star() {
        for family in ["sso.", "sso.*", " sso.* "] {
            assert!(
                matches!(parse_kind(family), Ok(Some(KindFilter::Prefix(p))) if p == "sso."),
                "{family}"
            );
        }
        assert!(parse_kind("sso*x").is_err());
    }

    #[test]
    fn the_select_offers_every_kind_and_its_families() {
        let (kinds, families) = kind_choices();
        assert!(kinds.contains(&"audit.exported"));
        assert!(kinds.contains(&"sign_in.failed"));
        assert!(families.contains(&"sso.".to_owned()));
        assert!(!families.contains(&"sign_out.".to_owned()));
    }
}
