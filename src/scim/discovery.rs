//! The discovery documents (RFC 7644 §4, RFC 7643 §5-§7): ServiceProviderConfig,
//! ResourceTypes and Schemas, built from the same constants the endpoints use.

use serde_json::{Value, json};

use super::resource::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA};

/// Most resources one list answers (`count` is capped to this).
pub const MAX_RESULTS: i64 = 1000;
/// Largest request body accepted (bytes).
pub const MAX_PAYLOAD: usize = 1_048_576;

pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The User attributes a filter or `sortBy` may name (each one indexed column).
pub const USER_FILTERABLE: &[&str] = &[
    "id",
    "userName",
    "externalId",
    "displayName",
    "name.givenName",
    "name.familyName",
    "title",
    "active",
    "emails.value (the primary address)",
    "meta.created",
    "meta.lastModified",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
];

/// The Group attributes a filter may name.
pub const GROUP_FILTERABLE: &[&str] = &[
    "id",
    "displayName",
    "externalId",
    "members.value (eq)",
    "meta.created",
    "meta.lastModified",
];

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/mintgate/mintgate#scim-20-provisioning",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": format!(
                "A per-organisation SCIM token (Settings > Security > SCIM). Filterable User \
                 attributes: {}. Filterable Group attributes: {}. Request bodies up to {} bytes.",
                USER_FILTERABLE.join(", "),
                GROUP_FILTERABLE.join(", "),
                MAX_PAYLOAD
            ),
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
        }),
    ]
}

fn attr(
    name: &str,
    ty: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    returned: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": ty, "multiValued": multi, "description": name,
        "required": required, "caseExact": false, "mutability": mutability,
        "returned": returned, "uniqueness": uniqueness
    })
}

fn string(name: &str) -> Value {
    attr(name, "string", false, false, "readWrite", "default", "none")
}

fn complex(name: &str, multi: bool, mutability: &str, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, mutability, "default", "none");
    a["subAttributes"] = Value::Array(subs);
    a
}

fn reference(name: &str, types: &[&str], mutability: &str) -> Value {
    let mut a = attr(
        name,
        "reference",
        false,
        false,
        mutability,
        "default",
        "none",
    );
    a["referenceTypes"] = json!(types);
    a
}

pub fn schemas(base: &str) -> Vec<Value> {
    let meta =
        |id: &str| json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")});
    let mut user_name = attr(
        "userName",
        "string",
        false,
        true,
        "readWrite",
        "default",
        "server",
    );
    user_name["caseExact"] = json!(false);
    let mut id_value = attr(
        "value", "string", false, false, "readOnly", "default", "none",
    );
    id_value["caseExact"] = json!(true);
    vec![
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA, "name": "User", "description": "User Account",
            "attributes": [
                user_name,
                complex("name", false, "readWrite", vec![string("formatted"), string("familyName"), string("givenName")]),
                string("displayName"),
                string("title"),
                attr("active", "boolean", false, false, "readWrite", "default", "none"),
                attr("password", "string", false, false, "writeOnly", "never", "none"),
                complex("emails", true, "readWrite", vec![string("value"), string("type"),
                    attr("primary", "boolean", false, false, "readWrite", "default", "none")]),
                complex("groups", true, "readOnly", vec![id_value.clone(),
                    reference("$ref", &["Group"], "readOnly"),
                    attr("display", "string", false, false, "readOnly", "default", "none"),
                    attr("type", "string", false, false, "readOnly", "default", "none")]),
            ],
            "meta": meta(USER_SCHEMA)
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [
                attr("displayName", "string", false, true, "readWrite", "default", "none"),
                complex("members", true, "readWrite", vec![
                    attr("value", "string", false, false, "immutable", "default", "none"),
                    reference("$ref", &["User"], "immutable"),
                    attr("display", "string", false, false, "readOnly", "default", "none"),
                    attr("type", "string", false, false, "immutable", "default", "none")]),
            ],
            "meta": meta(GROUP_SCHEMA)
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise User",
            "attributes": [
                string("employeeNumber"),
                string("department"),
                complex("manager", false, "readWrite", vec![
                    attr("value", "string", false, false, "readWrite", "default", "none"),
                    reference("$ref", &["User"], "readWrite"),
                    attr("displayName", "string", false, false, "readOnly", "default", "none")]),
            ],
            "meta": meta(ENTERPRISE_SCHEMA)
        }),
    ]
}

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_name_their_schemas() {
        let spc = service_provider_config("https://x/scim/v2");
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["filter"]["maxResults"], MAX_RESULTS);
        assert_eq!(resource_types("b").len(), 2);
        let s = schemas("b");
        assert_eq!(s.len(), 3);
        let user = &s[0]["attributes"];
        let pw = user
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "password")
            .unwrap();
        assert_eq!(pw["returned"], "never");
    }
}
