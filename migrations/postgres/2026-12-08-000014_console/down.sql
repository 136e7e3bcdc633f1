DROP TABLE email_links;
ALTER TABLE organisations DROP COLUMN session_absolute_timeout;
ALTER TABLE organisations DROP COLUMN session_idle_timeout;
DROP INDEX audit_events_org_at;
ALTER TABLE audit_events DROP COLUMN org_id;
ALTER TABLE users DROP COLUMN email_verified;
