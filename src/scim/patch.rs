//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON representation: `add`, `replace` and
//! `remove`, with and without `path`, value filters (`members[value eq "…"]`,
//! `emails[type eq "work"].value`) and URN-qualified extension paths. The operation names are
//! taken case-insensitively (Azure AD sends `"Replace"`); a no-path `add`/`replace` takes an
//! object whose keys are themselves paths (`{"active": false}`, `{"name.givenName": "x"}`,
//! `{"urn:…:enterprise:2.0:User": {...}}`). The result is parsed again as a resource, which is
//! where string booleans (`"False"`) and every other value are checked.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use super::resource::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// The PatchOp message schema (RFC 7644 §3.5.2).
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// `attr`, `urn:…:attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        let bad = |why: &str| ScimError::invalid_path(format!("Invalid path `{s}`: {why}"));
        let s = s.trim();
        match s.find('[') {
            None => Ok(Self {
                attr: AttrPath::parse(s).map_err(|e| bad(&e))?,
                filter: None,
                sub: None,
            }),
            Some(open) => {
                let close = s.rfind(']').ok_or_else(|| bad("no closing `]`"))?;
                if close < open {
                    return Err(bad("no closing `]`"));
                }
                let attr = AttrPath::parse(&s[..open]).map_err(|e| bad(&e))?;
                if attr.sub.is_some() {
                    return Err(bad("a value filter applies to a multi-valued attribute"));
                }
                let filter = filter::parse_value_filter(&s[open + 1..close])
                    .map_err(|e| ScimError::invalid_filter(format!("Invalid path filter: {e}")))?;
                let rest = &s[close + 1..];
                let sub = if rest.is_empty() {
                    None
                } else {
                    let sub = rest
                        .strip_prefix('.')
                        .ok_or_else(|| bad("text after `]`"))?;
                    let p = AttrPath::parse(sub).map_err(|e| bad(&e))?;
                    if p.urn.is_some() || p.sub.is_some() {
                        return Err(bad("one sub-attribute after `]`"));
                    }
                    Some(p.attr)
                };
                Ok(Self {
                    attr,
                    filter: Some(filter),
                    sub,
                })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(String::as_str)
}

/// The key of `obj` naming `name` case-insensitively, or `name` itself for a new one.
fn key_of(obj: &Map<String, Value>, name: &str) -> String {
    get_ci(obj, name).unwrap_or(name).to_owned()
}

/// Parses a PatchOp request body.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A PatchOp request is a JSON object"))?;
    let schemas_ok = get_ci(obj, "schemas")
        .and_then(|k| obj[k].as_array())
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {PATCH_SCHEMA}"
        )));
    }
    let ops = get_ci(obj, "Operations")
        .and_then(|k| obj[k].as_array())
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            Some(super::error::ScimType::TooMany),
            format!("At most {MAX_OPERATIONS} operations"),
        ));
    }
    ops.iter()
        .map(|op| {
            let o = op
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("An operation is a JSON object"))?;
            let field = |n: &str| get_ci(o, n).map(|k| &o[k]);
            let kind = match field("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(k) if k == "add" => OpKind::Add,
                Some(k) if k == "replace" => OpKind::Replace,
                Some(k) if k == "remove" => OpKind::Remove,
                _ => {
                    return Err(ScimError::invalid_syntax(
                        "op must be add, replace or remove",
                    ));
                }
            };
            let path = match field("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(PatchPath::parse(p)?),
                Some(_) => return Err(ScimError::invalid_path("path must be a string")),
            };
            let value = field("value").cloned().filter(|v| !v.is_null());
            if kind != OpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_value(
                    format!("{kind:?} needs a value").to_lowercase(),
                ));
            }
            if kind == OpKind::Remove && path.is_none() {
                return Err(ScimError::no_target("remove needs a path"));
            }
            Ok(PatchOp {
                op: kind,
                path,
                value,
            })
        })
        .collect()
}

/// Attributes no PATCH may name (RFC 7643 §3.1: `id` and `meta` are readOnly).
const READ_ONLY: &[&str] = &["id", "meta", "groups", "schemas"];

/// Applies the operations in order, all or nothing (the caller keeps the original).
pub fn apply(resource: &mut Value, ops: &[PatchOp]) -> Result<(), ScimError> {
    for op in ops {
        apply_one(resource, op)?;
    }
    Ok(())
}

fn apply_one(resource: &mut Value, op: &PatchOp) -> Result<(), ScimError> {
    match &op.path {
        Some(path) => apply_path(resource, op.op, path, op.value.as_ref(), true),
        None => {
            let Some(Value::Object(value)) = &op.value else {
                return Err(ScimError::invalid_value(
                    "without a path, the value is an object of attributes",
                ));
            };
            for (k, v) in value {
                let is_schema = [ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA]
                    .iter()
                    .any(|u| k.eq_ignore_ascii_case(u));
                if is_schema && v.is_object() {
                    // An extension's attributes: `{"urn:…:User": {"department": "x"}}`. Its
                    // attributes are set one by one so the others stay.
                    if let Some(obj) = v.as_object() {
                        for (ek, ev) in obj {
                            let path = PatchPath::parse(&format!("{k}:{ek}"))?;
                            apply_path(resource, op.op, &path, Some(ev), false)?;
                        }
                    }
                    continue;
                }
                let path = PatchPath::parse(k)?;
                apply_path(resource, op.op, &path, Some(v), false)?;
            }
            Ok(())
        }
    }
}

/// The object a path's attribute lives in: the resource, or its extension object.
fn container<'a>(
    resource: &'a mut Value,
    path: &AttrPath,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let root = resource.as_object_mut().ok_or_else(ScimError::internal)?;
    let Some(urn) = &path.urn else {
        return Ok(root);
    };
    // A core schema URN prefix names the resource itself.
    if urn
        .to_ascii_lowercase()
        .starts_with("urn:ietf:params:scim:schemas:core:")
    {
        return Ok(root);
    }
    let key = key_of(root, urn);
    let ext = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !ext.is_object() {
        *ext = Value::Object(Map::new());
    }
    ext.as_object_mut().ok_or_else(ScimError::internal)
}

/// Whether two elements of a multi-valued attribute are the same (by `value`, else equal).
fn same_element(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn merge(target: &mut Map<String, Value>, value: &Map<String, Value>) {
    for (k, v) in value {
        let key = key_of(target, k);
        target.insert(key, v.clone());
    }
}

/// The attributes a conjunction of `eq` comparisons sets, so `emails[type eq "work"].value`
/// can create the element it names (Azure AD adds a work address that way).
fn eq_conjunction(f: &Filter, out: &mut Map<String, Value>) -> bool {
    match f {
        Filter::And(a, b) => eq_conjunction(a, out) && eq_conjunction(b, out),
        Filter::Compare(p, CompareOp::Eq, v) if p.urn.is_none() && p.sub.is_none() => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => serde_json::Number::from_f64(*n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                CompValue::Null => Value::Null,
            };
            out.insert(p.attr.clone(), v);
            true
        }
        _ => false,
    }
}

fn apply_path(
    resource: &mut Value,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    explicit: bool,
) -> Result<(), ScimError> {
    let attr_lc = path.attr.attr.to_ascii_lowercase();
    if path.attr.urn.is_none() && READ_ONLY.contains(&attr_lc.as_str()) {
        if explicit {
            return Err(ScimError::mutability(format!(
                "`{}` is read-only",
                path.attr.attr
            )));
        }
        // A no-path value carrying `id` (Okta sends the group's own id): ignored like any
        // read-only attribute in a replace (RFC 7644 §3.5.1).
        return Ok(());
    }
    let obj = container(resource, &path.attr)?;
    let key = key_of(obj, &path.attr.attr);

    match (&path.filter, &path.attr.sub) {
        (None, None) => match kind {
            OpKind::Remove => {
                match (value, obj.get_mut(&key)) {
                    // Azure AD removes members by listing them: `path: members, value: [..]`.
                    (Some(Value::Array(gone)), Some(Value::Array(items))) => {
                        let gone_values: std::collections::HashSet<String> = gone
                            .iter()
                            .filter_map(|g| g.get("value").map(Value::to_string))
                            .collect();
                        items.retain(|i| match i.get("value") {
                            Some(v) => !gone_values.contains(&v.to_string()),
                            None => !gone.iter().any(|g| same_element(i, g)),
                        });
                    }
                    _ => {
                        obj.remove(&key);
                    }
                }
                Ok(())
            }
            OpKind::Add => {
                let value = value.ok_or_else(ScimError::internal)?;
                match (obj.get_mut(&key), value) {
                    (Some(Value::Array(items)), Value::Array(new)) => {
                        // By `value` in a set: adding thousands of members stays linear.
                        let mut seen: std::collections::HashSet<String> = items
                            .iter()
                            .filter_map(|i| i.get("value").map(Value::to_string))
                            .collect();
                        for n in new {
                            match n.get("value").map(Value::to_string) {
                                Some(v) => {
                                    if seen.insert(v) {
                                        items.push(n.clone());
                                    }
                                }
                                None => {
                                    if !items.iter().any(|i| same_element(i, n)) {
                                        items.push(n.clone());
                                    }
                                }
                            }
                        }
                    }
                    (Some(Value::Array(items)), n @ Value::Object(_)) => {
                        if !items.iter().any(|i| same_element(i, n)) {
                            items.push(n.clone());
                        }
                    }
                    (Some(Value::Object(existing)), Value::Object(new)) => merge(existing, new),
                    _ => {
                        obj.insert(key, value.clone());
                    }
                }
                Ok(())
            }
            OpKind::Replace => {
                let value = value.ok_or_else(ScimError::internal)?;
                match (obj.get_mut(&key), value) {
                    (Some(Value::Object(existing)), Value::Object(new)) => merge(existing, new),
                    _ => {
                        obj.insert(key, value.clone());
                    }
                }
                Ok(())
            }
        },
        (None, Some(sub)) => {
            // `name.givenName`: a sub-attribute of a complex attribute.
            let parent = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
            match parent {
                Value::Object(p) => {
                    let sk = key_of(p, sub);
                    match kind {
                        OpKind::Remove => {
                            p.remove(&sk);
                        }
                        _ => {
                            p.insert(sk, value.cloned().unwrap_or(Value::Null));
                        }
                    }
                    Ok(())
                }
                Value::Null => {
                    let mut p = Map::new();
                    if kind != OpKind::Remove {
                        p.insert(sub.clone(), value.cloned().unwrap_or(Value::Null));
                    }
                    *parent = Value::Object(p);
                    Ok(())
                }
                // `emails.value` on a multi-valued attribute: every value (RFC 7644 §3.5.2.3).
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        let sk = key_of(item, sub);
                        match kind {
                            OpKind::Remove => {
                                item.remove(&sk);
                            }
                            _ => {
                                item.insert(sk, value.cloned().unwrap_or(Value::Null));
                            }
                        }
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_path(format!(
                    "`{}` has no sub-attributes",
                    path.attr.attr
                ))),
            }
        }
        (Some(filter), _) => {
            let mut none = Vec::new();
            let items = match obj.get_mut(&key) {
                Some(Value::Array(items)) => items,
                // Nothing there yet: an element may be created below.
                Some(Value::Null) | None => &mut none,
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "`{}` is not multi-valued",
                        path.attr.attr
                    )));
                }
            };
            let matching: Vec<usize> = (0..items.len())
                .filter(|&i| filter.matches(&items[i]))
                .collect();
            match kind {
                OpKind::Remove => {
                    match &path.sub {
                        None => {
                            let mut i = 0;
                            items.retain(|_| {
                                let keep = !matching.contains(&i);
                                i += 1;
                                keep
                            });
                        }
                        Some(sub) => {
                            for &i in &matching {
                                if let Some(o) = items[i].as_object_mut() {
                                    let sk = key_of(o, sub);
                                    o.remove(&sk);
                                }
                            }
                        }
                    }
                    Ok(())
                }
                OpKind::Add | OpKind::Replace => {
                    let value = value.ok_or_else(ScimError::internal)?;
                    if matching.is_empty() {
                        let mut created = Map::new();
                        if !eq_conjunction(filter, &mut created) {
                            return Err(ScimError::no_target("No value matches the path's filter"));
                        }
                        match (&path.sub, value) {
                            (Some(sub), v) => {
                                created.insert(sub.clone(), v.clone());
                            }
                            (None, Value::Object(v)) => merge(&mut created, v),
                            (None, _) => {
                                return Err(ScimError::invalid_value(
                                    "a value filter's target takes an object",
                                ));
                            }
                        }
                        items.push(Value::Object(created));
                        if !none.is_empty() {
                            obj.insert(key, Value::Array(none));
                        }
                        return Ok(());
                    }
                    for &i in &matching {
                        let Some(o) = items[i].as_object_mut() else {
                            continue;
                        };
                        match (&path.sub, value) {
                            (Some(sub), v) => {
                                let sk = key_of(o, sub);
                                o.insert(sk, v.clone());
                            }
                            (None, Value::Object(v)) => merge(o, v),
                            (None, _) => {
                                return Err(ScimError::invalid_value(
                                    "a value filter's target takes an object",
                                ));
                            }
                        }
                    }
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn patch(resource: &mut Value, body: Value) -> Result<(), ScimError> {
        let ops = parse_request(&body)?;
        apply(resource, &ops)
    }

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn azure_ad_user_patch_shapes() {
        // Microsoft Entra ID's provisioning requests (learn.microsoft.com, "Tutorial: Develop
        // and plan provisioning for a SCIM endpoint"): capitalised ops, string booleans,
        // filtered e-mail paths and the enterprise manager as a bare string.
        let mut user = json!({"userName": "Test_User@contoso.com", "active": true,
            "emails": [{"type": "work", "value": "old@contoso.com", "primary": true}]});
        patch(&mut user, json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "usr_manager"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]
        })).unwrap();
        assert_eq!(user["emails"][0]["value"], "updatedEmail@microsoft.com");
        assert_eq!(user["emails"].as_array().unwrap().len(), 1);
        assert_eq!(user["name"]["familyName"], "updatedFamilyName");
        assert_eq!(user[ENT]["manager"], "usr_manager");
        assert_eq!(user["active"], "False");
        patch(&mut user, json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]
        })).unwrap();
        assert!(user[ENT].get("manager").is_none());
    }

    #[test]
    fn okta_deactivation_and_no_path_objects() {
        // Okta's "SCIM 2.0 protocol reference": deactivation is a no-path replace.
        let mut user =
            json!({"userName": "a", "active": true, "name": {"givenName": "A", "familyName": "B"}});
        patch(
            &mut user,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            }),
        )
        .unwrap();
        assert_eq!(user["active"], false);
        patch(&mut user, json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"name.givenName": "C", ENT: {"department": "R&D"}}}]
        })).unwrap();
        assert_eq!(user["name"], json!({"givenName": "C", "familyName": "B"}));
        assert_eq!(user[ENT]["department"], "R&D");
    }

    #[test]
    fn group_member_operations() {
        let mut group = json!({"id": "grp_1", "displayName": "Eng", "members": [{"value": "u1"}, {"value": "u2"}]});
        // Okta: add a list, remove by a value filter, rename with the id in the object.
        patch(&mut group, json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": "u3", "display": "c"}, {"value": "u1"}]},
                {"op": "remove", "path": "members[value eq \"u2\"]"},
                {"op": "replace", "value": {"id": "grp_1", "displayName": "Engineering"}}
            ]
        })).unwrap();
        assert_eq!(
            group["members"],
            json!([{"value": "u1"}, {"value": "u3", "display": "c"}])
        );
        assert_eq!(group["displayName"], "Engineering");
        // Azure AD: remove by listing the members.
        patch(
            &mut group,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]
            }),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{"value": "u3", "display": "c"}]));
        // Replace all members; remove all.
        patch(
            &mut group,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "members", "value": [{"value": "u9"}]}]
            }),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{"value": "u9"}]));
        patch(
            &mut group,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "members"}]
            }),
        )
        .unwrap();
        assert!(group.get("members").is_none());
    }

    #[test]
    fn errors() {
        let mut r = json!({"id": "x", "userName": "a"});
        let e = patch(&mut r, json!({"Operations": []})).unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(super::super::error::ScimType::InvalidSyntax)
        );
        let ok = |ops: Value| json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        let e = patch(&mut r, ok(json!([{"op": "move", "path": "a"}]))).unwrap_err();
        assert_eq!(e.status, 400);
        let e = patch(&mut r, ok(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(super::super::error::ScimType::NoTarget));
        let e = patch(
            &mut r,
            ok(json!([{"op": "replace", "path": "id", "value": "y"}])),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(super::super::error::ScimType::Mutability));
        let e = patch(
            &mut r,
            ok(json!([{"op": "replace", "path": "a..b", "value": "y"}])),
        )
        .unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(super::super::error::ScimType::InvalidPath)
        );
        let e = patch(&mut r, ok(json!([{"op": "replace", "path": "emails[type ne \"x\"]", "value": {"value": "v"}}]))).unwrap_err();
        assert_eq!(e.scim_type, Some(super::super::error::ScimType::NoTarget));
        let e = patch(&mut r, ok(json!([{"op": "add", "path": "title"}]))).unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(super::super::error::ScimType::InvalidValue)
        );
        assert_eq!(r, json!({"id": "x", "userName": "a"}));
    }

    proptest! {
        #[test]
        fn paths_never_panic(s in "\\PC{0,100}") {
            let _ = PatchPath::parse(&s);
        }

        #[test]
        fn patch_never_panics(op in "(add|Replace|remove|x)", path in r#"[a-zA-Z\.:\[\]" ]{0,30}"#, v in prop_oneof![Just(json!(null)), Just(json!("x")), Just(json!({"a": 1})), Just(json!([{"value": "u"}]))]) {
            let mut r = json!({"userName": "a", "members": [{"value": "u"}], "name": {"givenName": "g"}});
            let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": op, "path": path, "value": v}]});
            if let Ok(ops) = parse_request(&body) {
                let _ = apply(&mut r, &ops);
            }
        }
    }
}
