-- SAML 2.0 (issue #12): mintgate as service provider (SAML connections are rows of
-- sso_connections with kind 'saml': the IdP's metadata in `config`, our SP private key sealed in
-- `secret`) and as identity provider (SAML apps).

-- Assertion ids the SP accepted, kept until their NotOnOrAfter: a replayed assertion is refused
-- on every instance (the primary key makes the check and the record one atomic insert).
CREATE TABLE saml_seen_assertions (
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX saml_seen_assertions_expires_at ON saml_seen_assertions (expires_at);

-- A SAML message that arrived by a cross-site POST (a Response at an ACS, an AuthnRequest at
-- /saml/sso), which carries no SameSite=Lax cookie: kept under a random id (only its hash
-- stored) until the same-site GET that the 303 leads to takes it, once. Each address (an IPv4
-- address or IPv6 /64) keeps a bounded number, as with pending sign-ins.
CREATE TABLE saml_inbox (
    id_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    message TEXT NOT NULL,
    relay_state TEXT,
    client_addr TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX saml_inbox_expires_at ON saml_inbox (expires_at);
CREATE INDEX saml_inbox_client_addr ON saml_inbox (client_addr, created_at);

-- Service providers mintgate signs users in to (the IdP role). org_id NULL: an operator app open
-- to every organisation (like first-party OAuth clients). An entity id names one app on the
-- server, so an AuthnRequest's Issuer finds exactly one.
CREATE TABLE saml_apps (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT REFERENCES organisations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    acs_url TEXT NOT NULL,
    nameid_format TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX saml_apps_entity_id ON saml_apps (entity_id);
CREATE INDEX saml_apps_org_id ON saml_apps (org_id);
