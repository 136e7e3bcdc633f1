-- A key that no user owns (provisioned by an operator, or created by an organisation or
-- application key) is marked as such; a user key whose creator is gone is never mistaken for one.
ALTER TABLE api_keys ADD COLUMN org_owned BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_keys SET org_owned = TRUE WHERE created_by IS NULL AND application_id IS NULL;
CREATE INDEX api_keys_created_by ON api_keys(created_by);
-- Pruning forgotten throttle counters.
CREATE INDEX login_throttle_last_failure ON login_throttle(last_failure_at);
