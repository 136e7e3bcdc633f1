//! The User (RFC 7643 §4.1, with the enterprise extension of §4.3) and Group (§4.2) resources:
//! parsed from a request body (case-insensitive attribute names, read-only attributes ignored,
//! `"True"`/`"False"` accepted for `active` as Azure AD sends them) and rendered back with
//! `meta` (§3.1). `password` is write-only: taken in, never rendered (returned: never).

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::error::ScimError;
use crate::clock::{UnixTime, rfc3339};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Longest string attribute kept (characters).
const MAX_STRING: usize = 1024;
/// Most e-mail addresses kept per user.
const MAX_EMAILS: usize = 20;

/// One value of `emails`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmailValue {
    pub value: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

/// A User's attributes as a client sets them (everything but `id`, `meta`, `groups`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAttrs {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted: Option<String>,
    pub title: Option<String>,
    pub emails: Vec<EmailValue>,
    pub active: bool,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// The manager's SCIM id (`manager.value`).
    pub manager: Option<String>,
}

/// `meta` of a resource (RFC 7643 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub created: UnixTime,
    pub last_modified: UnixTime,
    pub version: i64,
}

impl Meta {
    /// The weak ETag (RFC 7644 §3.14).
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    fn to_json(self, resource_type: &str, location: &str) -> Value {
        json!({
            "resourceType": resource_type,
            "created": rfc3339(self.created),
            "lastModified": rfc3339(self.last_modified),
            "location": location,
            "version": self.etag(),
        })
    }
}

fn find<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match find(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > MAX_STRING {
                return Err(ScimError::invalid_value(format!("{name} is too long")));
            }
            if s.chars().any(|c| c == '\0') {
                return Err(ScimError::invalid_value(format!("{name} contains NUL")));
            }
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
    }
}

/// Whether a body names `attr` at its top level (case-insensitively) with a non-null value.
pub fn has_attr(body: &Value, attr: &str) -> bool {
    body.as_object().is_some_and(|o| find(o, attr).is_some())
}

/// A boolean, or the strings `"true"`/`"false"` in any case (Azure AD sends `"False"`).
pub fn boolean(v: &Value, name: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "{name} must be a boolean"
        ))),
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ScimError> {
    v.as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("{what} must be a JSON object")))
}

impl UserAttrs {
    /// Parses a User from a POST/PUT body or a patched representation; `password`, if any,
    /// comes back separately (its policy is the accounts service's).
    pub fn from_json(body: &Value) -> Result<(Self, Option<SecretString>), ScimError> {
        let obj = object(body, "A User")?;
        let user_name = string(obj, "userName")?
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        let name = match find(obj, "name") {
            Some(v) => Some(object(v, "name")?),
            None => None,
        };
        let sub = |n: &str| match name {
            Some(m) => string(m, n),
            None => Ok(None),
        };
        let mut emails = Vec::new();
        match find(obj, "emails") {
            None => {}
            Some(Value::Array(items)) => {
                if items.len() > MAX_EMAILS {
                    return Err(ScimError::invalid_value("too many emails"));
                }
                for item in items {
                    let e = object(item, "An email")?;
                    let Some(value) = string(e, "value")? else {
                        continue;
                    };
                    let primary = match find(e, "primary") {
                        Some(v) => boolean(v, "primary")?,
                        None => false,
                    };
                    emails.push(EmailValue {
                        value,
                        kind: string(e, "type")?,
                        primary,
                    });
                }
            }
            Some(_) => return Err(ScimError::invalid_value("emails must be an array")),
        }
        if emails.iter().filter(|e| e.primary).count() > 1 {
            return Err(ScimError::invalid_value("at most one primary email"));
        }
        let active = match find(obj, "active") {
            Some(v) => boolean(v, "active")?,
            None => true,
        };
        let password = match find(obj, "password") {
            None => None,
            Some(Value::String(p)) => Some(SecretString::from(p.clone())),
            Some(_) => return Err(ScimError::invalid_value("password must be a string")),
        };
        let ent = match find(obj, ENTERPRISE_SCHEMA) {
            Some(v) => Some(object(v, ENTERPRISE_SCHEMA)?),
            None => None,
        };
        let ent_str = |n: &str| match ent {
            Some(m) => string(m, n),
            None => Ok(None),
        };
        let manager = match ent.and_then(|m| find(m, "manager")) {
            None => None,
            // Azure AD sends the manager's id as a bare string.
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(Value::Object(m)) => string(m, "value")?,
            Some(_) => return Err(ScimError::invalid_value("manager must be an object")),
        };
        Ok((
            Self {
                user_name,
                external_id: string(obj, "externalId")?,
                display_name: string(obj, "displayName")?,
                given_name: sub("givenName")?,
                family_name: sub("familyName")?,
                formatted: sub("formatted")?,
                title: string(obj, "title")?,
                emails,
                active,
                employee_number: ent_str("employeeNumber")?,
                department: ent_str("department")?,
                manager,
            },
            password,
        ))
    }

    /// The address the account is reached at: the primary one, else the first (work first).
    pub fn primary_email(&self) -> Option<&EmailValue> {
        self.emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| {
                self.emails
                    .iter()
                    .find(|e| e.kind.as_deref() == Some("work"))
            })
            .or_else(|| self.emails.first())
    }

    /// The representation (RFC 7643 §4.1); `groups` are `(id, displayName)`.
    pub fn to_json(
        &self,
        id: &str,
        meta: Meta,
        location: &str,
        groups: &[(String, String)],
    ) -> Value {
        let mut out = Map::new();
        let mut schemas = vec![json!(USER_SCHEMA)];
        out.insert("id".into(), json!(id));
        if let Some(x) = &self.external_id {
            out.insert("externalId".into(), json!(x));
        }
        out.insert("userName".into(), json!(self.user_name));
        let mut name = Map::new();
        for (k, v) in [
            ("formatted", &self.formatted),
            ("familyName", &self.family_name),
            ("givenName", &self.given_name),
        ] {
            if let Some(v) = v {
                name.insert(k.into(), json!(v));
            }
        }
        if !name.is_empty() {
            out.insert("name".into(), Value::Object(name));
        }
        for (k, v) in [("displayName", &self.display_name), ("title", &self.title)] {
            if let Some(v) = v {
                out.insert(k.into(), json!(v));
            }
        }
        if !self.emails.is_empty() {
            out.insert("emails".into(), json!(self.emails));
        }
        out.insert("active".into(), json!(self.active));
        if !groups.is_empty() {
            let groups: Vec<Value> = groups
                .iter()
                .map(|(gid, name)| json!({"value": gid, "display": name, "type": "direct"}))
                .collect();
            out.insert("groups".into(), Value::Array(groups));
        }
        let mut ent = Map::new();
        for (k, v) in [
            ("employeeNumber", &self.employee_number),
            ("department", &self.department),
        ] {
            if let Some(v) = v {
                ent.insert(k.into(), json!(v));
            }
        }
        if let Some(m) = &self.manager {
            ent.insert("manager".into(), json!({"value": m}));
        }
        if !ent.is_empty() {
            schemas.push(json!(ENTERPRISE_SCHEMA));
            out.insert(ENTERPRISE_SCHEMA.into(), Value::Object(ent));
        }
        out.insert("meta".into(), meta.to_json("User", location));
        out.insert("schemas".into(), Value::Array(schemas));
        Value::Object(out)
    }
}

/// A Group's attributes as a client sets them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupAttrs {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member ids (`members[].value`), deduplicated, in order.
    pub members: Vec<String>,
}

/// Most members one request may name.
pub const MAX_MEMBERS: usize = 10_000;

impl GroupAttrs {
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        let obj = object(body, "A Group")?;
        let display_name = string(obj, "displayName")?
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
        if display_name.chars().count() > 100 {
            return Err(ScimError::invalid_value(
                "displayName is at most 100 characters",
            ));
        }
        let mut members: Vec<String> = Vec::new();
        match find(obj, "members") {
            None => {}
            Some(Value::Array(items)) => {
                if items.len() > MAX_MEMBERS {
                    return Err(ScimError::invalid_value("too many members"));
                }
                for item in items {
                    let m = object(item, "A member")?;
                    if let Some(t) = string(m, "type")?
                        && !t.eq_ignore_ascii_case("user")
                    {
                        return Err(ScimError::invalid_value("members are Users"));
                    }
                    let id = string(m, "value")?
                        .ok_or_else(|| ScimError::invalid_value("a member needs a value"))?;
                    if !members.contains(&id) {
                        members.push(id);
                    }
                }
            }
            Some(_) => return Err(ScimError::invalid_value("members must be an array")),
        }
        Ok(Self {
            display_name,
            external_id: string(obj, "externalId")?,
            members,
        })
    }

    /// The representation (RFC 7643 §4.2); `members` are `(id, display)`.
    pub fn to_json(
        id: &str,
        display_name: &str,
        external_id: Option<&str>,
        members: &[(String, String)],
        meta: Meta,
        location: &str,
        users_base: &str,
    ) -> Value {
        let mut out = Map::new();
        out.insert("schemas".into(), json!([GROUP_SCHEMA]));
        out.insert("id".into(), json!(id));
        if let Some(x) = external_id {
            out.insert("externalId".into(), json!(x));
        }
        out.insert("displayName".into(), json!(display_name));
        let members: Vec<Value> = members
            .iter()
            .map(|(uid, display)| {
                json!({"value": uid, "display": display, "type": "User",
                       "$ref": format!("{users_base}/{uid}")})
            })
            .collect();
        out.insert("members".into(), Value::Array(members));
        out.insert("meta".into(), meta.to_json("Group", location));
        Value::Object(out)
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) on a rendered resource: names are
/// `attr`, `attr.sub` or URN-qualified; `id`, `schemas` and `meta` are always returned.
pub fn project(resource: &mut Value, attributes: &[String], excluded: &[String]) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let always = ["id", "schemas", "meta"];
    let split = |a: &str| -> (Option<String>, String, Option<String>) {
        let a = a.trim();
        let (urn, rest) = match a.rfind(':') {
            Some(i) => (Some(a[..i].to_ascii_lowercase()), &a[i + 1..]),
            None => (None, a),
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((x, s)) => (x.to_ascii_lowercase(), Some(s.to_ascii_lowercase())),
            None => (rest.to_ascii_lowercase(), None),
        };
        let urn = urn.filter(|u| !u.starts_with("urn:ietf:params:scim:schemas:core:"));
        (urn, attr, sub)
    };
    let ent = ENTERPRISE_SCHEMA.to_ascii_lowercase();
    if !attributes.is_empty() {
        let wanted: Vec<_> = attributes.iter().map(|a| split(a)).collect();
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            let kl = k.to_ascii_lowercase();
            if always.contains(&kl.as_str()) {
                continue;
            }
            if kl == ent {
                // Keep the extension's wanted attributes only.
                let inner: Vec<&String> = wanted
                    .iter()
                    .filter(|(u, _, _)| u.as_deref() == Some(&ent))
                    .map(|(_, a, _)| a)
                    .collect();
                let whole = wanted.iter().any(|(u, a, _)| u.is_none() && *a == ent);
                if whole {
                    continue;
                }
                if inner.is_empty() {
                    obj.remove(&k);
                } else if let Some(Value::Object(e)) = obj.get_mut(&k) {
                    e.retain(|ek, _| inner.iter().any(|i| ek.eq_ignore_ascii_case(i)));
                }
                continue;
            }
            let subs: Vec<&Option<String>> = wanted
                .iter()
                .filter(|(u, a, _)| u.is_none() && *a == kl)
                .map(|(_, _, s)| s)
                .collect();
            if subs.is_empty() {
                obj.remove(&k);
            } else if subs.iter().all(|s| s.is_some()) {
                let keep: Vec<&String> = subs.iter().filter_map(|s| s.as_ref()).collect();
                match obj.get_mut(&k) {
                    Some(Value::Object(o)) => {
                        o.retain(|sk, _| keep.iter().any(|x| sk.eq_ignore_ascii_case(x)))
                    }
                    Some(Value::Array(items)) => {
                        for i in items.iter_mut().filter_map(Value::as_object_mut) {
                            i.retain(|sk, _| keep.iter().any(|x| sk.eq_ignore_ascii_case(x)));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for (urn, attr, sub) in excluded.iter().map(|a| split(a)) {
        if always.contains(&attr.as_str()) && urn.is_none() {
            continue;
        }
        let target = match &urn {
            Some(u) => {
                let key = obj.keys().find(|k| k.eq_ignore_ascii_case(u)).cloned();
                match key
                    .and_then(|k| obj.get_mut(&k))
                    .and_then(Value::as_object_mut)
                {
                    Some(e) => e,
                    None => continue,
                }
            }
            None => &mut *obj,
        };
        let Some(key) = target
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&attr))
            .cloned()
        else {
            continue;
        };
        match sub {
            None => {
                target.remove(&key);
            }
            Some(s) => match target.get_mut(&key) {
                Some(Value::Object(o)) => o.retain(|sk, _| !sk.eq_ignore_ascii_case(&s)),
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        i.retain(|sk, _| !sk.eq_ignore_ascii_case(&s));
                    }
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn user_round_trip_without_password() {
        let body = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "USERNAME": "Test_User@contoso.com",
            "externalId": "0a21f0f2",
            "name": {"givenName": "Test", "familyName": "User", "formatted": "Test User"},
            "displayName": "Test User",
            "emails": [{"value": "t@contoso.com", "type": "work", "primary": "True"}],
            "active": "False",
            "password": "correct horse battery",
            "id": "ignored", "meta": {"version": "ignored"},
            ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "usr_m"}}
        });
        let (u, pw) = UserAttrs::from_json(&body).unwrap();
        assert_eq!(pw.unwrap().expose_secret(), "correct horse battery");
        assert_eq!(u.user_name, "Test_User@contoso.com");
        assert!(!u.active);
        assert_eq!(u.primary_email().unwrap().value, "t@contoso.com");
        let meta = Meta {
            created: 1,
            last_modified: 2,
            version: 3,
        };
        let out = u.to_json("usr_1", meta, "https://x/scim/v2/Users/usr_1", &[]);
        assert!(out.get("password").is_none());
        assert_eq!(out["meta"]["version"], "W/\"3\"");
        assert_eq!(out[ENTERPRISE_SCHEMA]["manager"]["value"], "usr_m");
        let (again, pw) = UserAttrs::from_json(&out).unwrap();
        assert!(pw.is_none());
        assert_eq!(again, u);
    }

    #[test]
    fn bad_users() {
        for body in [
            json!({}),
            json!({"userName": 3}),
            json!({"userName": "a", "active": "yes"}),
            json!({"userName": "a", "emails": "x"}),
            json!({"userName": "a", "emails": [{"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}]}),
            json!({"userName": "a", "name": "x"}),
            json!({"userName": "x".repeat(2000)}),
            json!([]),
        ] {
            let e = UserAttrs::from_json(&body).expect_err(&body.to_string());
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn projection() {
        let u = UserAttrs {
            user_name: "a".into(),
            display_name: Some("A".into()),
            given_name: Some("g".into()),
            family_name: Some("f".into()),
            department: Some("d".into()),
            active: true,
            ..Default::default()
        };
        let meta = Meta {
            created: 1,
            last_modified: 2,
            version: 3,
        };
        let mut out = u.to_json("usr_1", meta, "l", &[]);
        project(&mut out, &["userName".into(), "name.givenName".into()], &[]);
        assert_eq!(out["userName"], "a");
        assert_eq!(out["name"], json!({"givenName": "g"}));
        assert!(out.get("displayName").is_none() && out.get(ENTERPRISE_SCHEMA).is_none());
        assert!(out.get("id").is_some() && out.get("meta").is_some());
        let mut out = u.to_json("usr_1", meta, "l", &[]);
        project(
            &mut out,
            &[],
            &[
                "displayName".into(),
                format!("{ENTERPRISE_SCHEMA}:department"),
                "id".into(),
            ],
        );
        assert!(out.get("displayName").is_none() && out.get("id").is_some());
        assert!(out[ENTERPRISE_SCHEMA].get("department").is_none());
    }

    #[test]
    fn groups() {
        let g = GroupAttrs::from_json(&json!({"displayName": "Eng", "members": [{"value": "u1"}, {"value": "u1", "type": "User"}]})).unwrap();
        assert_eq!(g.members, vec!["u1"]);
        assert!(
            GroupAttrs::from_json(
                &json!({"displayName": "Eng", "members": [{"value": "g", "type": "Group"}]})
            )
            .is_err()
        );
        assert!(GroupAttrs::from_json(&json!({"members": []})).is_err());
    }
}
