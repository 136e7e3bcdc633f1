//! A parsed filter resolved against the attributes the store indexes: every attribute path is
//! checked here, values are normalised (lower-cased for the case-insensitive ones, timestamps
//! parsed), and anything the store cannot answer with one indexed query is refused with a
//! `400 invalidFilter` naming the filterable attributes. The store maps the result to SQL
//! mechanically, with bound parameters only.

use super::error::ScimError;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::resource::ENTERPRISE_SCHEMA;
use crate::clock::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    UserName,
    /// caseExact (RFC 7643 §3.1).
    ExternalId,
    DisplayName,
    GivenName,
    FamilyName,
    Title,
    /// The primary address.
    Email,
    EmployeeNumber,
    Department,
    /// The manager's id (caseExact).
    Manager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Id,
    DisplayName,
    ExternalId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    Created,
    LastModified,
}

/// A text comparison; `co`/`sw`/`ew` become `LIKE` with the value escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond<F> {
    And(Box<Cond<F>>, Box<Cond<F>>),
    Or(Box<Cond<F>>, Box<Cond<F>>),
    Not(Box<Cond<F>>),
    Present(F),
    /// The value is normalised for the field (lower-cased unless it is case-exact).
    Text(F, TextOp, String),
    Time(TimeField, TextOp, UnixTime),
    /// `active` (Users only).
    Active(bool),
    /// The group has this member (Groups only: `members[value eq "…"]`).
    Member(String),
    /// Matches nothing or everything (`x eq null` on a required attribute, `pr` of one).
    Const(bool),
}

/// What a list asks for (RFC 7644 §3.4.2): a filter, an order and a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    pub filter: Option<Cond<F>>,
    pub sort: Option<Sort<F>>,
    pub descending: bool,
    /// 0-based.
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort<F> {
    Field(F),
    Time(TimeField),
}

fn text_op(op: CompareOp) -> TextOp {
    match op {
        CompareOp::Eq => TextOp::Eq,
        CompareOp::Ne => TextOp::Ne,
        CompareOp::Co => TextOp::Co,
        CompareOp::Sw => TextOp::Sw,
        CompareOp::Ew => TextOp::Ew,
        CompareOp::Gt => TextOp::Gt,
        CompareOp::Ge => TextOp::Ge,
        CompareOp::Lt => TextOp::Lt,
        CompareOp::Le => TextOp::Le,
    }
}

/// A resolved attribute of one resource type.
enum Resolved<F> {
    Text(F, bool),
    Time(TimeField),
    Active,
    /// `members.value` (Groups).
    Member,
    /// Always present (`schemas`, required attributes without a column of their own).
    Required,
}

fn unsupported(path: &AttrPath, what: &str, allowed: &[&str]) -> ScimError {
    ScimError::invalid_filter(format!(
        "Filtering on `{}` is not supported for {what}; filterable: {}",
        match &path.urn {
            Some(u) => format!("{u}:{}", path.key()),
            None => path.key(),
        },
        allowed.join(", ")
    ))
}

fn user_attr(path: &AttrPath) -> Result<Resolved<UserField>, ScimError> {
    let core = "urn:ietf:params:scim:schemas:core:2.0:user";
    let fail = || unsupported(path, "Users", super::discovery::USER_FILTERABLE);
    let key = path.key();
    match path.urn_key().as_deref() {
        None => {}
        Some(u) if u == core => {}
        Some(u) if u == ENTERPRISE_SCHEMA.to_ascii_lowercase() => {
            return Ok(match key.as_str() {
                "employeenumber" => Resolved::Text(UserField::EmployeeNumber, false),
                "department" => Resolved::Text(UserField::Department, false),
                "manager" | "manager.value" => Resolved::Text(UserField::Manager, true),
                _ => return Err(fail()),
            });
        }
        _ => return Err(fail()),
    }
    Ok(match key.as_str() {
        "id" => Resolved::Text(UserField::Id, true),
        "username" => Resolved::Text(UserField::UserName, false),
        "externalid" => Resolved::Text(UserField::ExternalId, true),
        "displayname" => Resolved::Text(UserField::DisplayName, false),
        "name.givenname" => Resolved::Text(UserField::GivenName, false),
        "name.familyname" => Resolved::Text(UserField::FamilyName, false),
        "title" => Resolved::Text(UserField::Title, false),
        "emails" | "emails.value" => Resolved::Text(UserField::Email, false),
        "active" => Resolved::Active,
        "meta.created" => Resolved::Time(TimeField::Created),
        "meta.lastmodified" => Resolved::Time(TimeField::LastModified),
        "schemas" => Resolved::Required,
        _ => return Err(fail()),
    })
}

fn group_attr(path: &AttrPath) -> Result<Resolved<GroupField>, ScimError> {
    let fail = || unsupported(path, "Groups", super::discovery::GROUP_FILTERABLE);
    match path.urn_key().as_deref() {
        None => {}
        Some("urn:ietf:params:scim:schemas:core:2.0:group") => {}
        _ => return Err(fail()),
    }
    Ok(match path.key().as_str() {
        "id" => Resolved::Text(GroupField::Id, true),
        "displayname" => Resolved::Text(GroupField::DisplayName, false),
        "externalid" => Resolved::Text(GroupField::ExternalId, true),
        "members" | "members.value" => Resolved::Member,
        "meta.created" => Resolved::Time(TimeField::Created),
        "meta.lastmodified" => Resolved::Time(TimeField::LastModified),
        "schemas" => Resolved::Required,
        _ => return Err(fail()),
    })
}

fn parse_time(s: &str) -> Result<UnixTime, ScimError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| ScimError::invalid_filter(format!("`{s}` is not an RFC 3339 date-time")))
}

fn resolve<F: Copy>(
    f: &Filter,
    attr: &dyn Fn(&AttrPath) -> Result<Resolved<F>, ScimError>,
    depth_prefix: Option<&AttrPath>,
) -> Result<Cond<F>, ScimError> {
    // Inside `emails[...]` the paths are sub-attributes of the parent.
    let full = |p: &AttrPath| -> AttrPath {
        match depth_prefix {
            Some(parent) => AttrPath {
                urn: parent.urn.clone(),
                attr: parent.attr.clone(),
                sub: Some(p.attr.clone()),
            },
            None => p.clone(),
        }
    };
    Ok(match f {
        Filter::And(a, b) => Cond::And(
            Box::new(resolve(a, attr, depth_prefix)?),
            Box::new(resolve(b, attr, depth_prefix)?),
        ),
        Filter::Or(a, b) => Cond::Or(
            Box::new(resolve(a, attr, depth_prefix)?),
            Box::new(resolve(b, attr, depth_prefix)?),
        ),
        Filter::Not(a) => Cond::Not(Box::new(resolve(a, attr, depth_prefix)?)),
        Filter::ValuePath(p, inner) => {
            if depth_prefix.is_some() {
                return Err(ScimError::invalid_filter("value filters cannot be nested"));
            }
            resolve(inner, attr, Some(p))?
        }
        Filter::Present(p) => match attr(&full(p))? {
            Resolved::Text(field, _) => Cond::Present(field),
            Resolved::Time(_) | Resolved::Active | Resolved::Required => Cond::Const(true),
            Resolved::Member => {
                return Err(ScimError::invalid_filter("members supports eq only"));
            }
        },
        Filter::Compare(p, op, v) => match (attr(&full(p))?, v) {
            (Resolved::Text(field, case_exact), CompValue::Str(s)) => {
                let s = if case_exact {
                    s.clone()
                } else {
                    s.to_lowercase()
                };
                Cond::Text(field, text_op(*op), s)
            }
            (Resolved::Text(field, _), CompValue::Null) => match op {
                CompareOp::Eq => Cond::Not(Box::new(Cond::Present(field))),
                CompareOp::Ne => Cond::Present(field),
                _ => {
                    return Err(ScimError::invalid_filter(
                        "null compares with eq or ne only",
                    ));
                }
            },
            (Resolved::Time(t), CompValue::Str(s)) => Cond::Time(t, text_op(*op), parse_time(s)?),
            (Resolved::Active, CompValue::Bool(b)) => match op {
                CompareOp::Eq => Cond::Active(*b),
                CompareOp::Ne => Cond::Active(!*b),
                _ => {
                    return Err(ScimError::invalid_filter(
                        "active compares with eq or ne only",
                    ));
                }
            },
            (Resolved::Member, CompValue::Str(s)) if *op == CompareOp::Eq => {
                Cond::Member(s.clone())
            }
            (Resolved::Required, CompValue::Str(s)) => {
                // `schemas eq "urn:…"`: every resource of the type carries its core schema.
                let core = s
                    .to_ascii_lowercase()
                    .starts_with("urn:ietf:params:scim:schemas:core:2.0:");
                match op {
                    CompareOp::Eq => Cond::Const(core),
                    CompareOp::Ne => Cond::Const(!core),
                    _ => Cond::Const(false),
                }
            }
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "`{}` cannot be compared that way",
                    p.key()
                )));
            }
        },
    })
}

/// A Users filter, resolved.
pub fn user_filter(f: &Filter) -> Result<Cond<UserField>, ScimError> {
    resolve(f, &user_attr, None)
}

/// A Groups filter, resolved.
pub fn group_filter(f: &Filter) -> Result<Cond<GroupField>, ScimError> {
    resolve(f, &group_attr, None)
}

/// `sortBy` for Users (RFC 7644 §3.4.2.3); unknown attributes are `invalidValue`.
pub fn user_sort(by: &str) -> Result<Sort<UserField>, ScimError> {
    let p = AttrPath::parse(by.trim()).map_err(ScimError::invalid_value)?;
    match user_attr(&p).map_err(|_| ScimError::invalid_value(format!("cannot sort by `{by}`")))? {
        Resolved::Text(f, _) => Ok(Sort::Field(f)),
        Resolved::Time(t) => Ok(Sort::Time(t)),
        _ => Err(ScimError::invalid_value(format!("cannot sort by `{by}`"))),
    }
}

pub fn group_sort(by: &str) -> Result<Sort<GroupField>, ScimError> {
    let p = AttrPath::parse(by.trim()).map_err(ScimError::invalid_value)?;
    match group_attr(&p).map_err(|_| ScimError::invalid_value(format!("cannot sort by `{by}`")))? {
        Resolved::Text(f, _) => Ok(Sort::Field(f)),
        Resolved::Time(t) => Ok(Sort::Time(t)),
        _ => Err(ScimError::invalid_value(format!("cannot sort by `{by}`"))),
    }
}

/// `value` escaped for `LIKE … ESCAPE '\'`.
pub fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::filter::parse;
    use super::*;

    #[test]
    fn resolves_the_indexed_attributes() {
        let f = user_filter(&parse(r#"userName eq "Alice@Example.COM""#).unwrap()).unwrap();
        assert_eq!(
            f,
            Cond::Text(UserField::UserName, TextOp::Eq, "alice@example.com".into())
        );
        let f = user_filter(&parse(r#"externalId eq "AbC""#).unwrap()).unwrap();
        assert_eq!(
            f,
            Cond::Text(UserField::ExternalId, TextOp::Eq, "AbC".into())
        );
        let f = user_filter(&parse(r#"emails[type eq "work"].value eq "x""#).unwrap());
        assert!(f.is_err(), "emails.type is not indexed");
        let f = user_filter(&parse(r#"emails[value eq "X"]"#).unwrap()).unwrap();
        assert_eq!(f, Cond::Text(UserField::Email, TextOp::Eq, "x".into()));
        let f =
            user_filter(&parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#).unwrap()).unwrap();
        assert_eq!(
            f,
            Cond::Time(TimeField::LastModified, TextOp::Gt, 1_305_261_754)
        );
        let f = user_filter(&parse(&format!("{ENTERPRISE_SCHEMA}:department eq \"R&D\"")).unwrap())
            .unwrap();
        assert_eq!(
            f,
            Cond::Text(UserField::Department, TextOp::Eq, "r&d".into())
        );
        assert!(matches!(
            user_filter(&parse("active eq false").unwrap()).unwrap(),
            Cond::Active(false)
        ));
        let g =
            group_filter(&parse(r#"displayName eq "Eng" and members[value eq "usr_1"]"#).unwrap())
                .unwrap();
        assert!(matches!(g, Cond::And(_, b) if *b == Cond::Member("usr_1".into())));
    }

    #[test]
    fn unknown_attributes_are_invalid_filter() {
        for f in [
            r#"nickName eq "x""#,
            r#"password eq "x""#,
            r#"urn:x:y:foo eq "1""#,
            "active gt true",
            r#"meta.created gt "yesterday""#,
        ] {
            let e = user_filter(&parse(f).unwrap()).expect_err(f);
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidFilter),
                "{f}"
            );
        }
        assert!(group_filter(&parse(r#"members co "x""#).unwrap()).is_err());
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
