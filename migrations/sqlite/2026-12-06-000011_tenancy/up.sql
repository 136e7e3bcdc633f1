-- Organisations as tenants (issue #11).
--
-- The user namespace: an account either belongs to the server (home_org NULL: created by the
-- operator, may be a member of several organisations) or is managed by one organisation
-- (home_org set: created by that organisation's SSO, and later SCIM and invitations; a member
-- of that organisation only). A managed account's username_key and email_key are stored as
-- "<org id> <key>": usernames and e-mail addresses never contain a space, so the server-wide
-- UNIQUE constraints become per-namespace ones, and two organisations can never collide with,
-- block or find each other's users (nor the server's).
ALTER TABLE users ADD COLUMN home_org TEXT REFERENCES organisations(id) ON DELETE CASCADE;
CREATE INDEX users_home_org ON users (home_org);

-- The active organisation a session acts in, and the one each grant (and so every token minted
-- on it) and each device authorisation was issued for. NULL: none chosen yet / no organisation.
ALTER TABLE sessions ADD COLUMN org_id TEXT;
ALTER TABLE oauth_grants ADD COLUMN org_id TEXT;
ALTER TABLE device_codes ADD COLUMN org_id TEXT;
-- The organisation a sign-in is for (the `organization` parameter, or the SSO connection's).
ALTER TABLE signin_flows ADD COLUMN org_id TEXT;

-- An OAuth client belongs to an organisation (registered by its admins; admits only its
-- members) or, with NULL, to the operator (first-party, every organisation).
ALTER TABLE oauth_clients ADD COLUMN org_id TEXT REFERENCES organisations(id) ON DELETE CASCADE;
CREATE INDEX oauth_clients_org_id ON oauth_clients (org_id);

-- Whether members must sign in through the organisation's SSO (owners keep a password).
ALTER TABLE organisations ADD COLUMN require_sso BOOLEAN NOT NULL DEFAULT FALSE;

-- Groups filled by an identity provider name the connection (or later SCIM) managing them.
ALTER TABLE groups ADD COLUMN managed_by TEXT;

-- Per-organisation SSO connections: `kind` is 'oidc' (later 'saml'); `config` is JSON text
-- (issuer, client id, attribute mapping...); `secret` is sealed with the server's secret box
-- (an upstream client secret, later a SAML private key).
CREATE TABLE sso_connections (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    config TEXT NOT NULL,
    secret TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sso_connections_org_id ON sso_connections (org_id);

-- E-mail domains claimed by an organisation. A claim is pending until verified (DNS TXT record
-- `_mintgate-challenge.<domain>` holding `challenge`, or the operator); a verified domain
-- belongs to one organisation only, while pending claims neither block nor reveal each other.
CREATE TABLE org_domains (
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    challenge TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    verified_at BIGINT,
    PRIMARY KEY (org_id, domain)
);
CREATE UNIQUE INDEX org_domains_verified ON org_domains (domain) WHERE verified_at IS NOT NULL;

-- A user's identity at an upstream IdP: (connection, subject) links to one user.
CREATE TABLE external_identities (
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX external_identities_user_id ON external_identities (user_id);
