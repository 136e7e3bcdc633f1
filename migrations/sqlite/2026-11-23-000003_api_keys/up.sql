-- API keys and organisation applications.
CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    application_id BIGINT REFERENCES applications(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    allowed_ips TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id);

-- Only hashes of key secrets are stored. A rotated key keeps its old secret until valid_until.
CREATE TABLE api_key_secrets (
    secret_hash TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    valid_until BIGINT
);
CREATE INDEX api_key_secrets_key ON api_key_secrets(key_id);
