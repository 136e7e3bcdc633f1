-- A pending sign-in (issue #10): only the hash of the cookie's random id is stored. What was
-- asked (max_age, prompt=login, later acr), what is done (methods with their times, as JSON
-- text), what to resume (an authorization request stored whole as JSON text, or a page path),
-- and sealed ceremony state for the factors to come (TOTP, WebAuthn). `client_addr` (an IPv4
-- address or IPv6 /64) bounds how many pending flows one address keeps.
CREATE TABLE signin_flows (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    methods TEXT NOT NULL,
    max_age BIGINT,
    force_login BOOLEAN NOT NULL,
    acr TEXT,
    resume_kind TEXT NOT NULL,
    resume TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    ceremony TEXT,
    client_addr TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX signin_flows_expires_at ON signin_flows (expires_at);
CREATE INDEX signin_flows_client_addr ON signin_flows (client_addr, created_at);
