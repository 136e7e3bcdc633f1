//! RFC 8707 resource indicators: which resources (the `aud` of access tokens) a client may ask
//! for, and how a grant's resources narrow at the token endpoint.
//!
//! A client registers the resources it may ask for (`mintgate client create --resource URI`);
//! with none registered it may ask only for the configured `api_audience` (the issuer by
//! default). An authorization names at most one `resource` (repeated parameters are refused, as
//! everywhere); what it names is bound to the grant, and every later token request on that grant
//! (code redemption, refresh) may only narrow it (RFC 8707 §2.2). A grant whose authorization
//! named none is bound to the default audience. Anything else is `invalid_target` (§2).

use super::error::{ErrorCode, OAuthError};
use super::types::{Client, UriError, parse_absolute_uri};
use crate::config::{OAuthSettings, ServerSettings};

/// The `aud` of access tokens whose request names no resource: `api_audience`, else the issuer.
pub fn default_audience(server: &ServerSettings, oauth: &OAuthSettings) -> String {
    oauth
        .api_audience
        .clone()
        .unwrap_or_else(|| server.issuer_str().to_owned())
}

/// Whether `aud` is mintgate's own audience (the [`default_audience`]): the only audience of
/// tokens that mintgate itself (`/v1`) accepts. Compared without allocating: `/v1` is a hot path.
pub fn is_default_audience(server: &ServerSettings, oauth: &OAuthSettings, aud: &str) -> bool {
    match &oauth.api_audience {
        Some(own) => aud == own,
        None => aud == server.issuer_str(),
    }
}

/// RFC 8707 §2: "an absolute URI ... MUST NOT include a fragment component".
pub fn validate_uri(s: &str) -> Result<(), UriError> {
    let url = parse_absolute_uri(s)?;
    if url.fragment().is_some() || s.contains('#') {
        return Err(UriError::Fragment(s.to_owned()));
    }
    Ok(())
}

fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// Whether `client` may ask for `resource`: one of its registered resources, or, when it has
/// none, the default audience.
fn allowed(client: &Client, default_audience: &str, resource: &str) -> bool {
    if client.resources.is_empty() {
        resource == default_audience
    } else {
        client.resources.iter().any(|r| r == resource)
    }
}

/// The resources a new grant is bound to: the requested one if the client may ask for it; none
/// (the default audience) when the request names none.
pub fn for_new_grant(
    client: &Client,
    default_audience: &str,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    match requested {
        None => Ok(Vec::new()),
        Some(r) => {
            validate_uri(r)
                .map_err(|_| invalid_target("resource must be an absolute URI without fragment"))?;
            if !allowed(client, default_audience, r) {
                return Err(invalid_target("this client may not ask for this resource"));
            }
            Ok(vec![r.to_owned()])
        }
    }
}

/// The audience of an access token issued on a grant bound to `granted`: the requested resource
/// if it is one of them (§2.2: only a subset of what was granted), else the granted one.
pub fn audience_for_grant(
    granted: &[String],
    default_audience: &str,
    requested: Option<&str>,
) -> Result<String, OAuthError> {
    let bound = |r: &str| {
        if granted.is_empty() {
            r == default_audience
        } else {
            granted.iter().any(|g| g == r)
        }
    };
    match requested {
        None => Ok(granted
            .first()
            .cloned()
            .unwrap_or_else(|| default_audience.to_owned())),
        Some(r) => {
            validate_uri(r)
                .map_err(|_| invalid_target("resource must be an absolute URI without fragment"))?;
            if !bound(r) {
                return Err(invalid_target(
                    "the resource was not granted by the authorization",
                ));
            }
            Ok(r.to_owned())
        }
    }
}

/// The audience of a token with no grant (client credentials): what the client may ask for.
pub fn audience_for_client(
    client: &Client,
    default_audience: &str,
    requested: Option<&str>,
) -> Result<String, OAuthError> {
    Ok(for_new_grant(client, default_audience, requested)?
        .pop()
        .unwrap_or_else(|| default_audience.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::types::TokenFormat;
    use crate::scopes::Scopes;
    use crate::signing::SigningAlg;

    fn client(resources: &[&str]) -> Client {
        Client {
            id: "mg_client_a".into(),
            name: "a".into(),
            secret_hash: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: Scopes::default(),
            skip_consent: false,
            access_token_format: TokenFormat::Jwt,
            access_token_ttl: 300,
            refresh_idle_ttl: 1,
            refresh_absolute_ttl: 1,
            always_issue_refresh: false,
            id_token_alg: SigningAlg::Rs256,
            created_at: 0,
            resources: resources.iter().map(|s| s.to_string()).collect(),
            org_id: None,
        }
    }

    const DEFAULT: &str = "https://id.example";

    #[test]
    fn only_registered_resources_or_the_default() {
        let none = client(&[]);
        assert_eq!(
            for_new_grant(&none, DEFAULT, None).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            for_new_grant(&none, DEFAULT, Some(DEFAULT)).unwrap(),
            vec![DEFAULT]
        );
        for bad in [
            "mg_client_b",
            "https://api.example",
            "https://api.example/#x",
            "/rel",
            "",
        ] {
            let e = for_new_grant(&none, DEFAULT, Some(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTarget, "{bad}");
        }
        let some = client(&["https://api.example"]);
        assert!(for_new_grant(&some, DEFAULT, Some("https://api.example")).is_ok());
        assert!(for_new_grant(&some, DEFAULT, Some(DEFAULT)).is_err());
        assert!(for_new_grant(&some, DEFAULT, Some("https://api.example/other")).is_err());
    }

    #[test]
    fn the_default_audience_is_api_audience_else_the_issuer() {
        let server = ServerSettings {
            issuer: "https://id.example/".parse().unwrap(),
            ..ServerSettings::default()
        };
        let mut oauth = OAuthSettings::default();
        assert!(is_default_audience(&server, &oauth, "https://id.example"));
        assert!(!is_default_audience(&server, &oauth, "https://api.example"));
        oauth.api_audience = Some("https://api.example".into());
        assert!(is_default_audience(&server, &oauth, "https://api.example"));
        assert!(!is_default_audience(&server, &oauth, "https://id.example"));
        assert_eq!(default_audience(&server, &oauth), "https://api.example");
    }

    #[test]
    fn token_requests_only_narrow() {
        let granted = vec!["https://api.example".to_owned()];
        assert_eq!(
            audience_for_grant(&granted, DEFAULT, None).unwrap(),
            "https://api.example"
        );
        assert!(audience_for_grant(&granted, DEFAULT, Some("https://api.example")).is_ok());
        assert!(audience_for_grant(&granted, DEFAULT, Some(DEFAULT)).is_err());
        assert_eq!(audience_for_grant(&[], DEFAULT, None).unwrap(), DEFAULT);
        assert!(audience_for_grant(&[], DEFAULT, Some("https://api.example")).is_err());
    }
}
