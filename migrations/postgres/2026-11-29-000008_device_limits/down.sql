DROP INDEX device_codes_expires_at;
DROP INDEX device_codes_client_addr;
ALTER TABLE device_codes DROP COLUMN client_addr;
