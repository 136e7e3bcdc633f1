-- Device authorization grant (RFC 8628) and the built-in public client of the mintgate CLI.
CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY NOT NULL,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    poll_interval BIGINT NOT NULL,
    last_polled_at BIGINT,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    granted_scope TEXT,
    auth_time BIGINT,
    amr TEXT
);

INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
    skip_consent, access_token_format, access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl,
    always_issue_refresh, id_token_alg, created_at)
VALUES ('mintgate-cli', 'mintgate CLI', NULL, '[]', '[]',
    'urn:ietf:params:oauth:grant-type:device_code refresh_token',
    'openid offline_access read:evaluations write:evaluations read:policies write:policies read:org write:org ci admin',
    FALSE, 'opaque', 3600, 2592000, 7776000, FALSE, 'RS256', 0);
