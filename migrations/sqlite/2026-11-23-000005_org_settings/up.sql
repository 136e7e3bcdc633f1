-- Per-organisation API key policy.
ALTER TABLE organisations ADD COLUMN api_key_max_lifetime BIGINT;
ALTER TABLE organisations ADD COLUMN api_key_legacy_query BOOLEAN NOT NULL DEFAULT TRUE;
