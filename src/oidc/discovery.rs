//! Discovery metadata (OIDC Discovery §3, RFC 8414 §2), built once from the route constants the
//! router uses and served from memory.

use serde_json::json;

use crate::authn;
use crate::config::ServerSettings;
use crate::oauth::types::GrantType;
use crate::signing::SigningAlg;
use crate::web::paths;

pub fn document(server: &ServerSettings) -> String {
    let url = |path: &str| server.url_for(path);
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    json!({
        "issuer": server.issuer_str(),
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "userinfo_endpoint": url(paths::USERINFO),
        "jwks_uri": url(paths::JWKS),
        "end_session_endpoint": url(paths::END_SESSION),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        "device_authorization_endpoint": url(paths::DEVICE_AUTHORIZATION),
        "scopes_supported": ["openid", "profile", "email", "offline_access", "groups"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            GrantType::AuthorizationCode.as_str(),
            GrantType::RefreshToken.as_str(),
            GrantType::ClientCredentials.as_str(),
            GrantType::DeviceCode.as_str(),
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr", "acr",
            "name", "preferred_username", "updated_at", "email", "email_verified", "groups",
            "org_id", "org_name"
        ],
        "acr_values_supported": authn::ACR_VALUES,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
    .to_string()
}
