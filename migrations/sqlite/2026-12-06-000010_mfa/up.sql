-- Factors beyond a password (issue #10). A TOTP seed is sealed with the server's secret box
-- under the user's id; `last_step` is the newest time step accepted, so that step and older
-- ones are refused afterwards (a code is used once, on every instance). An enrolment is
-- pending until a current code confirms it.
CREATE TABLE totp_credentials (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL,
    last_step BIGINT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT
);

-- Recovery codes, stored only as hashes, each used once.
CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- WebAuthn passkeys: the credential (public key, sign counter, flags) as webauthn-rs
-- serialises it, with the counter also in a column so that a rollback is refused atomically.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- An organisation can require a second factor of its members.
ALTER TABLE organisations ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- Pending sign-ins now store their methods by name ("password", "totp", ...), not amr value:
-- the few in flight at upgrade start again.
DELETE FROM signin_flows;
