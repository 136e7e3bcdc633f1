-- RFC 8707 resource indicators: the resources a client may ask for (a JSON array of absolute
-- URIs; empty means only the configured api_audience), and those granted to a grant (a JSON
-- array; empty means the request named none: the default audience).
ALTER TABLE oauth_clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE oauth_grants ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
