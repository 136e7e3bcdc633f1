-- The address (IPv4, or IPv6 /64) a device authorization was requested from, so pending codes
-- can be limited per address across instances; an index for that count and for pruning.
ALTER TABLE device_codes ADD COLUMN client_addr TEXT;
CREATE INDEX device_codes_client_addr ON device_codes (client_addr, expires_at);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
