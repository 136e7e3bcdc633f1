//! Every path the server answers, as constants: the route table, redirects, templates and the
//! discovery metadata use these strings, never retyped ones. Imports nothing.

pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
/// The sign-in flow's second-factor page (a TOTP or recovery code, or a passkey).
pub const LOGIN_FACTOR: &str = "/login/factor";
/// Settings > Security: second factors (TOTP, recovery codes, passkeys).
pub const SETTINGS_SECURITY: &str = "/settings/security";
/// Passkeys (WebAuthn): each ceremony is a `begin` that answers the browser's options and a
/// `finish` that takes the authenticator's answer; `{id}` is a passkey's id.
pub const LOGIN_PASSKEY_BEGIN: &str = "/login/passkey/begin";
pub const LOGIN_PASSKEY_FINISH: &str = "/login/passkey/finish";
pub const LOGIN_FACTOR_PASSKEY_BEGIN: &str = "/login/factor/passkey/begin";
pub const LOGIN_FACTOR_PASSKEY_FINISH: &str = "/login/factor/passkey/finish";
pub const SETTINGS_PASSKEYS_BEGIN: &str = "/settings/security/passkeys/begin";
pub const SETTINGS_PASSKEYS_FINISH: &str = "/settings/security/passkeys/finish";
pub const SETTINGS_PASSKEY_RENAME: &str = "/settings/security/passkeys/{id}/rename";
pub const SETTINGS_PASSKEY_DELETE: &str = "/settings/security/passkeys/{id}/delete";
pub const PASSKEYS_SCRIPT: &str = "/static/passkeys.js";
/// Starts a TOTP enrolment (a new seed, shown until a code confirms it).
pub const SETTINGS_TOTP: &str = "/settings/security/totp";
pub const SETTINGS_TOTP_CONFIRM: &str = "/settings/security/totp/confirm";
pub const SETTINGS_TOTP_DISABLE: &str = "/settings/security/totp/disable";
/// Replaces the recovery codes.
pub const SETTINGS_RECOVERY_CODES: &str = "/settings/security/recovery-codes";
/// A TOTP code, and a recovery code, as the sign-in flow's second factor.
pub const LOGIN_FACTOR_TOTP: &str = "/login/factor/totp";
pub const LOGIN_FACTOR_RECOVERY: &str = "/login/factor/recovery";
/// "Continue with SSO" on the sign-in page: an e-mail address or an organisation name, routed
/// to the organisation's connection.
pub const LOGIN_SSO: &str = "/login/sso";
/// Upstream OpenID Connect sign-in through an SSO connection (`{connection}`: its id).
pub const OIDC_START: &str = "/auth/oidc/{connection}/start";
pub const OIDC_CALLBACK: &str = "/auth/oidc/{connection}/callback";
/// mintgate as SAML service provider through an SSO connection (issue #12): the SP metadata to
/// give the IdP (its entity ID is this URL), the start of an SP-initiated sign-in (an
/// AuthnRequest by HTTP-Redirect), and the assertion consumer service: the IdP's cross-site POST
/// is kept and answered 303 to the same-site GET `SAML_ACS_CONTINUE`, which reads the flow cookie.
pub const SAML_SP_METADATA: &str = "/auth/saml/{connection}/metadata";
pub const SAML_SP_START: &str = "/auth/saml/{connection}/start";
pub const SAML_ACS: &str = "/auth/saml/{connection}/acs";
pub const SAML_ACS_CONTINUE: &str = "/auth/saml/{connection}/acs/continue";
/// mintgate as SAML identity provider: its metadata, the single sign-on service (HTTP-Redirect
/// GET, HTTP-POST kept and answered 303 to `SAML_SSO_CONTINUE`), and where a sign-in made for an
/// AuthnRequest resumes (the flow's `Resume::Saml`).
pub const SAML_IDP_METADATA: &str = "/saml/metadata";
pub const SAML_SSO: &str = "/saml/sso";
pub const SAML_SSO_CONTINUE: &str = "/saml/sso/continue";
pub const SAML_SSO_RESUME: &str = "/saml/sso/resume";
/// Settings > Security > SAML apps: the service providers an organisation's admins registered.
pub const SETTINGS_SAML_APPS: &str = "/settings/security/saml-apps";
pub const SETTINGS_SAML_APP_DELETE: &str = "/settings/security/saml-apps/{id}/delete";
/// Settings > Security > SSO: an organisation's connections, domains and SSO requirement.
pub const SETTINGS_SSO: &str = "/settings/security/sso";
pub const SETTINGS_SSO_CONNECTIONS: &str = "/settings/security/sso/connections";
/// The add-SAML-connection form (the IdP metadata pasted).
pub const SETTINGS_SSO_SAML_CONNECTIONS: &str = "/settings/security/sso/saml-connections";
pub const SETTINGS_SSO_CONNECTION_ACTION: &str = "/settings/security/sso/connections/{id}/{action}";
pub const SETTINGS_SSO_DOMAINS: &str = "/settings/security/sso/domains";
pub const SETTINGS_SSO_DOMAIN_VERIFY: &str = "/settings/security/sso/domains/verify";
pub const SETTINGS_SSO_REQUIRE: &str = "/settings/security/sso/require";
pub const ACCOUNT: &str = "/account";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const STYLESHEET: &str = "/static/mintgate.css";
pub const SETTINGS_API_KEYS: &str = "/settings/api-keys";
/// Settings > Organisation: an administrator's organisation policy (the MFA requirement).
pub const SETTINGS_ORGANISATION: &str = "/settings/organisation";
pub const SETTINGS_APPLICATIONS: &str = "/settings/applications";
pub const COPY_SCRIPT: &str = "/static/copy.js";
/// Submits the SAML IdP's Response form (HTTP-POST binding) at once.
pub const SAML_POST_SCRIPT: &str = "/static/saml-post.js";
pub const CONSENTS_REVOKE: &str = "/account/consents/revoke";
/// The organisation picker: where a user in several organisations chooses the one the session
/// acts in (at sign-in, or to switch).
pub const ACCOUNT_ORGANISATION: &str = "/account/organisation";

pub const AUTHORIZE: &str = "/oauth/authorize";
/// Where the authorization endpoint picks up the request its sign-in flow holds.
pub const AUTHORIZE_RESUME: &str = "/oauth/authorize/resume";

/// Whether a sign-in page's `return_to` resumes a pending request's flow (an authorization
/// request, or a SAML AuthnRequest) rather than a page: such a sign-in continues the flow the
/// browser's `mg_flow` cookie names, and only from the page that showed that flow's tag.
pub fn resumes_flow(return_to: &str) -> bool {
    return_to == AUTHORIZE_RESUME || return_to == SAML_SSO_RESUME
}
pub const AUTHORIZE_ALIAS: &str = "/oidc/authorize";
pub const CONSENT: &str = "/oauth/consent";
pub const TOKEN: &str = "/oauth/token";
pub const TOKEN_ALIAS: &str = "/oidc/token";
pub const JWKS: &str = "/oauth/jwks";
pub const USERINFO: &str = "/oauth/userinfo";
pub const INTROSPECT: &str = "/oauth/introspect";
pub const REVOKE: &str = "/oauth/revoke";
pub const END_SESSION: &str = "/oauth/logout";
/// The prefix of the JSON API; every `/v1` path below starts with it.
pub const V1: &str = "/v1";
pub const V1_API_KEYS: &str = "/v1/api-keys";
pub const V1_API_KEY: &str = "/v1/api-keys/{id}";
pub const V1_API_KEY_ROTATE: &str = "/v1/api-keys/{id}/rotate";
pub const V1_VERIFY: &str = "/v1/auth/verify";
pub const V1_APPLICATIONS: &str = "/v1/applications";
pub const V1_APPLICATION_BY_ID: &str = "/v1/applications/{id}";
pub const V1_APPLICATION: &str = "/v1/application";
pub const DEVICE_AUTHORIZATION: &str = "/oauth/device_authorization";
pub const DEVICE: &str = "/device";
pub const OPENAPI: &str = "/openapi.json";
pub const API_REFERENCE: &str = "/docs/api";
pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OAUTH_DISCOVERY: &str = "/.well-known/oauth-authorization-server";

/// SCIM 2.0 provisioning (issue #13, RFC 7644 §3.2): the base and its endpoints.
pub const SCIM_BASE: &str = "/scim/v2";
pub const SCIM_USERS: &str = "/scim/v2/Users";
pub const SCIM_USER: &str = "/scim/v2/Users/{id}";
pub const SCIM_GROUPS: &str = "/scim/v2/Groups";
pub const SCIM_GROUP: &str = "/scim/v2/Groups/{id}";
pub const SCIM_SERVICE_PROVIDER_CONFIG: &str = "/scim/v2/ServiceProviderConfig";
pub const SCIM_SCHEMAS: &str = "/scim/v2/Schemas";
pub const SCIM_SCHEMA: &str = "/scim/v2/Schemas/{id}";
pub const SCIM_RESOURCE_TYPES: &str = "/scim/v2/ResourceTypes";
pub const SCIM_RESOURCE_TYPE: &str = "/scim/v2/ResourceTypes/{id}";
/// Anything else under the base: a SCIM 404.
pub const SCIM_OTHER: &str = "/scim/v2/{tail:.*}";
/// Settings > Security > SCIM: an organisation's SCIM tokens.
pub const SETTINGS_SCIM: &str = "/settings/security/scim";
pub const SETTINGS_SCIM_TOKENS: &str = "/settings/security/scim/tokens";
pub const SETTINGS_SCIM_TOKEN_REVOKE: &str = "/settings/security/scim/tokens/{id}/revoke";

/// Account self-service (issue #14): the profile (name, e-mail change) is `ACCOUNT`; these are
/// the rest of it.
pub const ACCOUNT_PROFILE: &str = "/account/profile";
pub const ACCOUNT_EMAIL: &str = "/account/email";
/// Where the link sent to a new e-mail address lands (`?token=`): a page whose button confirms.
pub const ACCOUNT_EMAIL_CONFIRM: &str = "/account/email/confirm";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_SESSIONS: &str = "/account/sessions";
/// Signs out one session (`{id}`: its public id, the `sid`).
pub const ACCOUNT_SESSION_REVOKE: &str = "/account/sessions/{id}/revoke";
pub const ACCOUNT_SESSIONS_REVOKE_OTHERS: &str = "/account/sessions/revoke-others";
/// Forgot password, from the sign-in page: ask for a link, then the link's page (`?token=`),
/// whose form sets the new password.
pub const PASSWORD_FORGOT: &str = "/login/forgot";
pub const PASSWORD_RESET: &str = "/login/reset";
/// An invitation link (`?token=`): join an organisation, setting a password or signing in.
pub const INVITATION: &str = "/invitation";

/// The organisation console (issue #14): owners and admins of the active organisation.
/// Policies is the organisation page, `SETTINGS_ORGANISATION`.
pub const ORG_MEMBERS: &str = "/settings/organisation/members";
pub const ORG_MEMBER: &str = "/settings/organisation/members/{id}";
/// `{action}`: role, disable, enable, remove, reset-mfa.
pub const ORG_MEMBER_ACTION: &str = "/settings/organisation/members/{id}/{action}";
pub const ORG_INVITATIONS: &str = "/settings/organisation/invitations";
pub const ORG_INVITATION_REVOKE: &str = "/settings/organisation/invitations/{id}/revoke";
pub const ORG_OAUTH_APPS: &str = "/settings/organisation/oauth-apps";
pub const ORG_OAUTH_APP: &str = "/settings/organisation/oauth-apps/{id}";
/// `{action}`: rotate, delete.
pub const ORG_OAUTH_APP_ACTION: &str = "/settings/organisation/oauth-apps/{id}/{action}";
pub const ORG_GROUPS: &str = "/settings/organisation/groups";
pub const ORG_GROUP: &str = "/settings/organisation/groups/{id}";
/// `{action}`: rename, delete, add-member, remove-member.
pub const ORG_GROUP_ACTION: &str = "/settings/organisation/groups/{id}/{action}";
pub const ORG_AUDIT: &str = "/settings/organisation/audit";
/// The same filter as `ORG_AUDIT`, as JSON lines.
pub const ORG_AUDIT_EXPORT: &str = "/settings/organisation/audit/export";

/// The Policies page's form of API key and session lifetimes (issue #14, builder "audit"); the
/// page itself is `SETTINGS_ORGANISATION`.
pub const ORG_POLICIES: &str = "/settings/organisation/policies";
/// The invitation page's "Create your account" form (issue #14, members): a visitor without a
/// session posts here, with the link's token in the form.
pub const INVITATION_ACCOUNT: &str = "/invitation/account";
