DELETE FROM oauth_clients WHERE id = 'mintgate-cli';
DROP TABLE device_codes;
