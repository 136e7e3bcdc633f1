-- Account self-service and the organisation console (issue #14).

-- Whether the account's current e-mail address was proven (a link sent to it was followed);
-- ID tokens and userinfo report it as `email_verified`. An address set by an organisation's
-- verified-domain SSO or SCIM counts as proven there.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- The organisation an audit event belongs to (the actor's active organisation, or the
-- organisation acted on); an organisation's audit log reads only its own events.
ALTER TABLE audit_events ADD COLUMN org_id TEXT;
CREATE INDEX audit_events_org_at ON audit_events (org_id, at);

-- An organisation's session lifetimes, within the server's bounds (NULL: the server's).
ALTER TABLE organisations ADD COLUMN session_idle_timeout BIGINT;
ALTER TABLE organisations ADD COLUMN session_absolute_timeout BIGINT;

-- Single-use links sent by e-mail: a password reset (30 minutes), an e-mail change's
-- confirmation sent to the new address, an invitation to an organisation (7 days). Only the
-- SHA-256 of the link's secret is stored; `used_at` is set once, by a conditional update.
CREATE TABLE email_links (
    id_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT REFERENCES organisations(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_links_user ON email_links (user_id, kind);
CREATE INDEX email_links_org ON email_links (org_id, kind);
CREATE INDEX email_links_expires ON email_links (expires_at);
