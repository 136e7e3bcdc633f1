ALTER TABLE organisations DROP COLUMN api_key_legacy_query;
ALTER TABLE organisations DROP COLUMN api_key_max_lifetime;
