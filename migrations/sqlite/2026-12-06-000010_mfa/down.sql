ALTER TABLE organisations DROP COLUMN require_mfa;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
