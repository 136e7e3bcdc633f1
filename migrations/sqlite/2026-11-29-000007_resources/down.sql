ALTER TABLE oauth_grants DROP COLUMN resources;
ALTER TABLE oauth_clients DROP COLUMN resources;
