DROP TABLE saml_apps;
DROP TABLE saml_inbox;
DROP TABLE saml_seen_assertions;
