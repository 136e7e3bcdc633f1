DROP INDEX users_home_org_created;
DROP TABLE scim_groups;
DROP TABLE scim_users;
DROP TABLE scim_tokens;
