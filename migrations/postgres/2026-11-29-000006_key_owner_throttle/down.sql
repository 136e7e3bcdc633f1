DROP INDEX login_throttle_last_failure;
DROP INDEX api_keys_created_by;
ALTER TABLE api_keys DROP COLUMN org_owned;
